-- tools/demo/app.sql -- the sample "shop" application database of tools/demo.sh.
--
-- Run with the sqlite3 shell on an empty file: sqlite3 app.db < app.sql
-- It looks like what an ORM (Sequelize, Prisma, Django, ...) leaves in
-- SQLite, including the parts a naive copy to MariaDB gets wrong:
--   * dates stored as text with a UTC offset, e.g.
--     '2026-04-16 22:41:27.490 +00:00' (MariaDB strict mode refuses that
--     text for a DATETIME column; sluice converts it to UTC),
--   * a JSON column, a BLOB column, NULLs, non-ASCII text,
--   * a table without a primary key (keyed by SQLite's rowid).
-- Row counts: 2,000 customers, 6,000 orders, 1,500 audit_log rows.

PRAGMA journal_mode = WAL;

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    tier        TEXT NOT NULL DEFAULT 'basic',
    prefs       JSON,
    avatar      BLOB,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    status       TEXT NOT NULL,
    total_cents  INTEGER NOT NULL,
    weight_kg    REAL,
    placed_at    DATETIME NOT NULL,
    shipped_on   DATE,
    note         TEXT
);
CREATE INDEX orders_customer ON orders(customer_id);

-- no primary key: sluice keys it by rowid
CREATE TABLE audit_log (
    at      TEXT NOT NULL,
    actor   TEXT,
    action  TEXT NOT NULL,
    detail  TEXT
);

BEGIN;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customers (id, email, name, tier, prefs, avatar, created_at, updated_at)
SELECT i,
       'user' || i || '@example.com',
       CASE i % 5
           WHEN 0 THEN 'Zoë Ångström ' || i
           WHEN 1 THEN 'José Müller ' || i
           WHEN 2 THEN '山田 太郎 ' || i
           WHEN 3 THEN 'Chloé "Chip" O''Brien ' || i
           ELSE 'Sam Smith ' || i
       END,
       CASE WHEN i % 10 = 0 THEN 'gold' WHEN i % 3 = 0 THEN 'silver' ELSE 'basic' END,
       CASE WHEN i % 7 = 0 THEN NULL
            ELSE json_object('newsletter', json(CASE WHEN i % 2 THEN 'true' ELSE 'false' END),
                             'lang', CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'de' ELSE 'ja' END,
                             'tags', json_array('t' || (i % 4), 't' || (i % 9)))
       END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE randomblob(16 + i % 48) END,
       -- ORM style: 'YYYY-MM-DD HH:MM:SS.SSS +00:00'
       strftime('%Y-%m-%d %H:%M:%f', '2025-01-01', '+' || (i * 3607) || ' seconds',
                '+' || (((i * 7) % 1000) / 1000.0) || ' seconds') || ' +00:00',
       -- a few other SQLite date forms: 'T' separator and 'Z', or a +02:00 offset
       CASE i % 3
           WHEN 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 61 + (i % 997) / 1000.0) || ' seconds')
           WHEN 1 THEN strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (i * 67 + (i % 991) / 1000.0) || ' seconds') || ' +02:00'
           ELSE strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (i * 71 + (i % 983) / 1000.0) || ' seconds') || ' +00:00'
       END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
INSERT INTO orders (customer_id, status, total_cents, weight_kg, placed_at, shipped_on, note)
SELECT 1 + (i * 7919) % 2000,
       CASE i % 6 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'paid' WHEN 2 THEN 'paid'
                  ELSE 'shipped' END,
       100 + (i * 7727) % 99900,
       CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 37) % 5000) / 100.0 END,
       strftime('%Y-%m-%d %H:%M:%f', '2025-06-01', '+' || (i * 1201) || ' seconds',
                '+' || (((i * 13) % 1000) / 1000.0) || ' seconds') || ' +00:00',
       CASE WHEN i % 6 >= 3 THEN date('2025-06-02', '+' || (i / 40) || ' days') END,
       CASE i % 9
           WHEN 0 THEN NULL
           WHEN 1 THEN ''
           WHEN 2 THEN 'leave at the door' || char(10) || 'ring twice'
           WHEN 3 THEN 'gift wrap ' || char(9) || 'tab, back\slash'
           ELSE 'order note ' || i
       END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
INSERT INTO audit_log (at, actor, action, detail)
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2025-06-01', '+' || (i * 600) || ' seconds'),
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'user' || (1 + i % 2000) END,
       CASE i % 3 WHEN 0 THEN 'login' WHEN 1 THEN 'checkout' ELSE 'refund' END,
       'session ' || hex(randomblob(4))
FROM n;

COMMIT;
