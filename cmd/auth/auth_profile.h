/* auth_profile: handlers of the account routes beyond register, login,
 * refresh and logout. Each takes the auth_ctx as its argument. */
#ifndef AUTH_PROFILE_H
#define AUTH_PROFILE_H

#include "pl_http.h"

/* auth_profile.c */
void auth_h_me_get(pl_http_req *req, void *arg);
void auth_h_me_patch(pl_http_req *req, void *arg);
void auth_h_user_get(pl_http_req *req, void *arg);
void auth_h_users_search(pl_http_req *req, void *arg);
/* auth_sessions.c */
void auth_h_sessions_list(pl_http_req *req, void *arg);
void auth_h_session_delete(pl_http_req *req, void *arg);
void auth_h_password(pl_http_req *req, void *arg);

#endif
