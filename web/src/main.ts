import { createApp, watch } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { useAuthStore } from './stores/auth'
import { startSync, stopSync } from './services/sync'
import './styles.css'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
app.use(router)
document.documentElement.lang = i18n.global.locale.value

const auth = useAuthStore()
auth.onSignedOut(() => {
  stopSync()
  void router.replace({ name: 'login' })
})
watch(
  () => auth.user?.id,
  (id) => {
    if (id) void startSync(id)
  },
  { immediate: true },
)

app.mount('#app')

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  void import('virtual:pwa-register').then(({ registerSW }) => registerSW({ immediate: true }))
}
