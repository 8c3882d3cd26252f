import { createRouter, createWebHistory } from 'vue-router'
import { useAuthStore } from '@/stores/auth'
import ChatsView from '@/views/ChatsView.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'chats', component: ChatsView, meta: { auth: true } },
    { path: '/c/:id', name: 'chat', component: ChatsView, meta: { auth: true } },
    { path: '/invite/:code', name: 'invite', component: () => import('@/views/InviteView.vue'), props: true, meta: { auth: true } },
    { path: '/login', name: 'login', component: () => import('@/views/AuthView.vue'), props: { mode: 'login' } },
    { path: '/register', name: 'register', component: () => import('@/views/AuthView.vue'), props: { mode: 'register' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  const auth = useAuthStore()
  if (to.meta.auth && !auth.signedIn) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (!to.meta.auth && auth.signedIn) return { name: 'chats' }
  return true
})
