/* flood_resume: what a resilient chat client (--resilient) remembers so a
 * new socket resumes where the last one stopped: per client, the newest
 * position it saw in each of its user's conversations. Every conversation
 * first gets one seed message, whose position is where each client
 * starts, so even a client's first socket resumes and nothing sent while
 * a client is away can fall between two sockets. */
#ifndef FLOOD_RESUME_H
#define FLOOD_RESUME_H

#include "flood.h"

typedef struct flood_resume flood_resume;

/* Sends the seed messages through api (each by the conversation's first
 * member) and sets up the state of nclients clients (client i is user
 * i mod nusers). users and convs are borrowed and must outlive *out.
 * 0, -ENOMEM, or -EIO when a seed was not acknowledged. */
int flood_resume_new(flood_resume **out, flood_http *api, const flood_opts *o,
                     const flood_user *users, size_t nusers, const flood_conv *convs,
                     size_t nconvs, size_t nclients, flood_errs *e);
/* Accepts NULL. */
void flood_resume_free(flood_resume *r);

/* ws thread: notes a frame that client got (its position, when it is a
 * message.created of one of its conversations). 1 when the frame is a
 * resume.gap, else 0. */
int flood_resume_frame(flood_resume *r, size_t client, const char *d, size_t n);
/* ws thread: writes client's resume map, as a flood_ws_resume_fn does. */
int flood_resume_map(flood_resume *r, size_t client, char *buf, size_t cap);

#endif
