/*
** tg_name.c -- names in a MariaDB target: which ones MariaDB can take, and
** sluice's own namespace there.
**
** MariaDB's identifier rules (counted in characters, not bytes): at most
** 64 characters, no trailing space, characters of the Basic Multilingual
** Plane only (no emoji), valid UTF-8. sluice's own tables and columns are
** named sqlite_sluice_* (SQLite reserves sqlite_, so no source table can
** take such a name).
** INVARIANT: tg_name_check accepts exactly the names MariaDB accepts as a
** table or column name; nothing here touches a server.
*/
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sl_utf8.h"
#include "tg.h"

int tg_name_reserved(const char *name)
{
    return strncasecmp(name, "sqlite_sluice", 13) == 0;
}

size_t tg_name_chars(const char *name)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

int tg_name_check(const char *name, char *why, size_t cap)
{
    size_t n = strlen(name), chars = tg_name_chars(name);
    const unsigned char *p = (const unsigned char *)name;

    if (n == 0) {
        snprintf(why, cap, "an empty name");
        return -1;
    }
    if (!sl_utf8_valid(name, n, 1)) {
        snprintf(why, cap, "it is not valid UTF-8");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0xf0) {
            snprintf(why, cap, "it holds a character beyond U+FFFF (such as "
                     "an emoji), which MariaDB names cannot hold");
            return -1;
        }
    if (chars > 64) {
        snprintf(why, cap, "it is %zu characters long; MariaDB allows 64",
                 chars);
        return -1;
    }
    if (name[n - 1] == ' ') {
        snprintf(why, cap, "it ends with a space, which MariaDB does not "
                 "allow in names");
        return -1;
    }
    return 0;
}
