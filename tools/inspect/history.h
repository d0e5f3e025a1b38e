/*
** history.h -- `sluice-inspect DIR history TABLE KEY...` (history.c).
*/
#ifndef SLUICE_INSPECT_HISTORY_H
#define SLUICE_INSPECT_HISTORY_H

#include "sluice/journal.h"

typedef struct inspect_history_opts {
    int json;                 /* one JSON object per line */
    const char *index_path;   /* NULL: $XDG_CACHE_HOME or ~/.cache/sluice */
    int no_index;             /* read the whole journal instead */
} inspect_history_opts;

/* Print every journaled change of the row of `table` whose key columns
** (in the key's order) read as keys[0..nkeys-1], oldest first, and the
** table-wide records (snapshot, truncate, drop) that touched it. Returns
** the exit status (0, 1 failure, 65 corrupt journal); says on stderr when
** nothing matched or the index could not be used. */
int inspect_history(jr_journal *j, const inspect_history_opts *o,
                    const char *table, int nkeys, char *const *keys);

#endif
