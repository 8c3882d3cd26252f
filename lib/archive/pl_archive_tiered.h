/* pl_archive_tiered: the hot side of the tier split. A conversation's
 * messages at or below its highest snapshotted offset belong to the
 * archive; hot rows there are leftovers that a rebuild or repair from the
 * log brought back. Both the tiering job and parley-admin replay drop them
 * with this one statement. */
#ifndef PL_ARCHIVE_TIERED_H
#define PL_ARCHIVE_TIERED_H

#include <libpq-fe.h>

/* Deletes, in schema (a trusted identifier: "history" or the rebuild's),
 * the message rows of conv (NULL: every conversation) at or below that
 * conversation's archived edge, children first. No-op when the archive
 * schema does not exist yet. Runs in the caller's transaction, if any.
 * 0 or -EIO; -EINVAL for a schema name that is not a plain identifier. */
int pl_archive_drop_tiered(PGconn *pg, const char *schema, const char *conv);

#endif
