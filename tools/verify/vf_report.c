/*
** vf_report.c -- what verify says: per-table results (counts and the
** first few differences) and how they are printed, as logfmt-style lines
** or one JSON document.
**
** Text output, one line per table, then the differences shown, then a
** summary:
**   table=orders source_rows=3 target_rows=3 missing=0 extra=1
**     differing=1 status=DIFF mode=key
**     differing table=orders key="id=2" column=amount source=0.1
**       target=0.25
**     extra table=orders key="id=9"
**   summary tables=4 ok=3 diff=1 error=0 status=DIFF
** (each on one line). Multiset comparisons show row="..." instead of
** key="..." and count=N when a row is missing or extra more than once.
** Live mode adds in_flux=N to each table (keys changed between the two
** snapshots, left out on both sides) and in_flux, from_seq and
** applied_seq to the summary (the journal window (from_seq,
** applied_seq] those keys come from; applied_seq is the target
** snapshot's replay position).
**
** INVARIANTS:
**  (R1) a result keeps at most max_items differences, whatever the size
**       of the table; the counts are always complete.
**  (R2) every value printed has been through sl_q (text) or JSON string
**       escaping: no raw control character reaches the output.
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "vf.h"

/* ---- results ---- */

int vf_result_init(vf_result *r, const char *table, int max_items)
{
    memset(r, 0, sizeof(*r));
    r->table = strdup(table);
    r->max_items = max_items;
    r->mode = "key";
    if (max_items > 0)
        r->items = calloc((size_t)max_items, sizeof(vf_item));
    return r->table == NULL || (max_items > 0 && r->items == NULL) ? -1 : 0;
}

static void items_free(vf_result *r)
{
    for (int i = 0; i < r->nitems; i++) {
        vf_item *it = &r->items[i];
        free(it->key);
        for (int k = 0; k < it->ncols; k++) {
            free(it->cols[k].column);
            free(it->cols[k].src);
            free(it->cols[k].tgt);
        }
        memset(it, 0, sizeof(*it));
    }
    r->nitems = 0;
}

void vf_result_reset(vf_result *r)
{
    items_free(r);
    r->src_rows = r->tgt_rows = r->missing = r->extra = r->differing = 0;
    r->status = VF_ST_OK;
}

void vf_result_free(vf_result *r)
{
    items_free(r);
    free(r->items);
    free(r->table);
    memset(r, 0, sizeof(*r));
}

void vf_result_note(vf_result *r, const char *fmt, ...)
{
    size_t o = strlen(r->note);
    va_list ap;

    if (o > 0 && o + 3 < sizeof(r->note)) {
        memcpy(r->note + o, "; ", 3);
        o += 2;
    }
    va_start(ap, fmt);
    vsnprintf(r->note + o, sizeof(r->note) - o, fmt, ap);
    va_end(ap);
}

int vf_result_room(const vf_result *r)
{
    return r->nitems < r->max_items;
}

vf_item *vf_result_item(vf_result *r, int what, int row, const char *key)
{
    vf_item *it;

    if (!vf_result_room(r))
        return NULL;
    it = &r->items[r->nitems];
    memset(it, 0, sizeof(*it));
    if ((it->key = strdup(key)) == NULL)
        return NULL;
    it->what = what;
    it->row = row;
    it->count = 1;
    r->nitems++;
    return it;
}

void vf_item_col(vf_item *it, const char *column, const char *src,
                 const char *tgt)
{
    vf_itemcol *c;

    if (it->ncols >= VF_MAX_ITEM_COLS) {
        it->nmore++;
        return;
    }
    c = &it->cols[it->ncols];
    c->column = strdup(column);
    c->src = strdup(src);
    c->tgt = strdup(tgt);
    if (c->column && c->src && c->tgt) {
        it->ncols++;
    } else {
        free(c->column);
        free(c->src);
        free(c->tgt);
        memset(c, 0, sizeof(*c));
    }
}

void vf_result_finish(vf_result *r)
{
    if (r->status == VF_ST_ERROR)
        return;
    r->status = r->missing || r->extra || r->differing || r->nstruct
                    ? VF_ST_DIFF : VF_ST_OK;
}

/* ---- key and row display ---- */

static void show_cols(char *buf, size_t cap, const vf_table *t,
                      sqlite3_stmt *st, MYSQL_ROW row, unsigned long *lens,
                      int whole_row)
{
    size_t o = 0;
    int n = whole_row ? t->ncols : t->nkey;

    buf[0] = 0;
    for (int k = 0; k < n && o + 8 < cap; k++) {
        int i = whole_row ? k : t->key[k];
        char v[200];
        if (st != NULL)
            vf_show_src(v, sizeof(v), st, i);
        else
            vf_show_tgt(v, sizeof(v), &t->cols[i], row[i], lens[i]);
        o += (size_t)snprintf(buf + o, cap - o, "%s%s=%s", k ? "," : "",
                              t->cols[i].sname, v);
    }
    if (o >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

void vf_key_show_src(char *buf, size_t cap, const vf_table *t,
                     sqlite3_stmt *st, int whole_row)
{
    show_cols(buf, cap, t, st, NULL, NULL, whole_row);
}

void vf_key_show_tgt(char *buf, size_t cap, const vf_table *t,
                     MYSQL_ROW row, unsigned long *lens, int whole_row)
{
    show_cols(buf, cap, t, NULL, row, lens, whole_row);
}

/* ---- output ---- */

static const char *const g_status[] = { "ok", "DIFF", "ERROR", "skipped" };
static const char *const g_what[] = { "missing", "extra", "differing" };

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void vf_report_begin(vf_report *rep, FILE *f, int json)
{
    memset(rep, 0, sizeof(*rep));
    rep->f = f;
    rep->json = json;
    if (json)
        fputs("{\"tables\":[", f);
}

static void table_text(FILE *f, const vf_result *r)
{
    char q1[600], q2[1200];

    fprintf(f, "table=%s source_rows=%" PRIu64 " target_rows=%" PRIu64
            " missing=%" PRIu64 " extra=%" PRIu64 " differing=%" PRIu64
            " status=%s", sl_q(q1, sizeof(q1), r->table), r->src_rows,
            r->tgt_rows, r->missing, r->extra, r->differing,
            g_status[r->status]);
    if (r->status != VF_ST_ERROR && r->status != VF_ST_SKIPPED)
        fprintf(f, " mode=%s", r->mode);
    if (r->live)
        fprintf(f, " in_flux=%" PRIu64, r->in_flux);
    if (r->note[0])
        fprintf(f, " note=%s", sl_q(q2, sizeof(q2), r->note));
    fputc('\n', f);
    for (int i = 0; i < r->nitems; i++) {
        const vf_item *it = &r->items[i];
        char q3[800];
        fprintf(f, "  %s table=%s %s=%s", g_what[it->what],
                sl_q(q1, sizeof(q1), r->table), it->row ? "row" : "key",
                sl_q(q3, sizeof(q3), it->key));
        if (it->count > 1)
            fprintf(f, " count=%" PRIu64, it->count);
        if (it->ncols == 0)
            fputc('\n', f);
        for (int k = 0; k < it->ncols; k++) {
            char a[400], b[400];
            if (k > 0)
                fprintf(f, "  %s table=%s key=%s", g_what[it->what],
                        sl_q(q1, sizeof(q1), r->table),
                        sl_q(q3, sizeof(q3), it->key));
            fprintf(f, " column=%s source=%s target=%s\n",
                    sl_q(q2, sizeof(q2), it->cols[k].column),
                    sl_q(a, sizeof(a), it->cols[k].src),
                    sl_q(b, sizeof(b), it->cols[k].tgt));
        }
        if (it->nmore > 0)
            fprintf(f, "  %s table=%s key=%s more_columns=%d\n",
                    g_what[it->what], sl_q(q1, sizeof(q1), r->table),
                    sl_q(q3, sizeof(q3), it->key), it->nmore);
    }
}

static void table_json(FILE *f, const vf_result *r, int first)
{
    fputs(first ? "\n{\"table\":" : ",\n{\"table\":", f);
    json_str(f, r->table);
    fprintf(f, ",\"source_rows\":%" PRIu64 ",\"target_rows\":%" PRIu64
            ",\"missing\":%" PRIu64 ",\"extra\":%" PRIu64
            ",\"differing\":%" PRIu64 ",\"status\":\"%s\",\"mode\":",
            r->src_rows, r->tgt_rows, r->missing, r->extra, r->differing,
            g_status[r->status]);
    if (r->status == VF_ST_ERROR || r->status == VF_ST_SKIPPED)
        fputs("null", f);
    else
        json_str(f, r->mode);
    if (r->live)
        fprintf(f, ",\"in_flux\":%" PRIu64, r->in_flux);
    fputs(",\"note\":", f);
    if (r->note[0])
        json_str(f, r->note);
    else
        fputs("null", f);
    fputs(",\"diffs\":[", f);
    for (int i = 0; i < r->nitems; i++) {
        const vf_item *it = &r->items[i];
        fprintf(f, "%s{\"kind\":\"%s\",\"%s\":", i ? "," : "",
                g_what[it->what], it->row ? "row" : "key");
        json_str(f, it->key);
        fprintf(f, ",\"count\":%" PRIu64 ",\"more_columns\":%d,"
                "\"columns\":[", it->count, it->nmore);
        for (int k = 0; k < it->ncols; k++) {
            fputs(k ? ",{\"column\":" : "{\"column\":", f);
            json_str(f, it->cols[k].column);
            fputs(",\"source\":", f);
            json_str(f, it->cols[k].src);
            fputs(",\"target\":", f);
            json_str(f, it->cols[k].tgt);
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

void vf_report_table(vf_report *rep, const vf_result *r)
{
    if (rep->json)
        table_json(rep->f, r, rep->ntables == 0);
    else
        table_text(rep->f, r);
    rep->ntables++;
    rep->in_flux += r->in_flux;
    if (r->status == VF_ST_OK)
        rep->nok++;
    else if (r->status == VF_ST_DIFF)
        rep->ndiff++;
    else if (r->status == VF_ST_SKIPPED)
        rep->nskipped++;
    else
        rep->nerror++;
    fflush(rep->f);
}

int vf_report_end(vf_report *rep)
{
    int none = rep->nok + rep->ndiff + rep->nerror == 0;
    int st = rep->ndiff || rep->nerror || none ? VF_EX_DIFF : VF_EX_OK;
    const char *word = rep->nerror || none ? "ERROR"
                       : rep->ndiff ? "DIFF" : "ok";
    const char *why = none ? "no table to compare (the source has no table "
                             "capture takes, or --tables/--exclude-tables "
                             "left none)" : NULL;

    if (rep->json) {
        fprintf(rep->f, "\n],\"tables_total\":%d,\"ok\":%d,\"diff\":%d,"
                "\"error\":%d,\"skipped\":%d,\"status\":\"%s\"",
                rep->ntables, rep->nok, rep->ndiff, rep->nerror,
                rep->nskipped, word);
        if (rep->live)
            fprintf(rep->f, ",\"in_flux\":%" PRIu64 ",\"from_seq\":%"
                    PRIu64 ",\"applied_seq\":%" PRIu64, rep->in_flux,
                    rep->from_seq, rep->applied_seq);
        if (why != NULL) {
            fputs(",\"note\":", rep->f);
            json_str(rep->f, why);
        }
        fputs("}\n", rep->f);
    } else {
        char q[300];
        fprintf(rep->f, "summary tables=%d ok=%d diff=%d error=%d "
                "skipped=%d status=%s", rep->ntables, rep->nok, rep->ndiff,
                rep->nerror, rep->nskipped, word);
        if (rep->live)
            fprintf(rep->f, " in_flux=%" PRIu64 " from_seq=%" PRIu64
                    " applied_seq=%" PRIu64, rep->in_flux, rep->from_seq,
                    rep->applied_seq);
        if (why != NULL)
            fprintf(rep->f, " note=%s", sl_q(q, sizeof(q), why));
        fputc('\n', rep->f);
    }
    fflush(rep->f);
    return st;
}
