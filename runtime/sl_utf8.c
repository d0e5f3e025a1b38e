/*
** sl_utf8.c -- strict UTF-8 validation (RFC 3629).
** INVARIANT: never reads outside p[0..n).
*/
#include "sl_utf8.h"

int sl_utf8_valid(const void *vp, size_t n, int reject_nul)
{
    const unsigned char *p = vp, *end = p + n;

    while (p < end) {
        unsigned c = *p++, cp, min;
        int more;
        if (c < 0x80) {
            if (c == 0 && reject_nul)
                return 0;
            continue;
        }
        if ((c & 0xe0) == 0xc0) { more = 1; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { more = 2; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { more = 3; cp = c & 7; min = 0x10000; }
        else return 0;
        if (end - p < more)
            return 0;
        while (more--) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p++ & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}
