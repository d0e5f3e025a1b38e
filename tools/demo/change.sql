-- tools/demo/change.sql -- one transaction of the demo's application writer.
--
-- tools/demo.sh runs `sqlite3 -bail app.db < change.sql` in a loop. Each
-- run is one transaction of about 15 row changes: new customers and orders,
-- status and profile updates (with a +02:00 ORM-style date), deletes,
-- an occasional primary-key change and customer removal, and inserts,
-- updates and deletes on audit_log, the table without a primary key.
.timeout 5000
BEGIN IMMEDIATE;

INSERT INTO customers (email, name, tier, prefs, avatar, created_at, updated_at)
SELECT 'user' || (max(id) + 1) || '@example.com', 'Nouveau Client ' || (max(id) + 1),
       'basic', json_object('newsletter', json('true'), 'lang', 'fr', 'tags', json_array()),
       randomblob(24),
       strftime('%Y-%m-%d %H:%M:%f', 'now') || ' +00:00',
       strftime('%Y-%m-%d %H:%M:%f', 'now') || ' +00:00'
FROM customers;

INSERT INTO orders (customer_id, status, total_cents, weight_kg, placed_at, note)
SELECT (SELECT id FROM customers ORDER BY random() LIMIT 1), 'paid',
       100 + abs(random()) % 50000, (abs(random()) % 5000) / 100.0,
       strftime('%Y-%m-%d %H:%M:%f', 'now') || ' +00:00', 'web order ' || k
FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3);

UPDATE orders SET status = 'shipped', shipped_on = date('now')
WHERE id IN (SELECT id FROM orders WHERE status = 'paid' ORDER BY random() LIMIT 3);

UPDATE customers
SET tier = CASE tier WHEN 'basic' THEN 'silver' ELSE 'gold' END,
    prefs = json_set(coalesce(prefs, '{}'), '$.visits', abs(random()) % 100),
    updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '+2 hours') || ' +02:00'
WHERE id = (SELECT id FROM customers ORDER BY random() LIMIT 1);

DELETE FROM orders
WHERE id IN (SELECT id FROM orders WHERE status = 'cancelled' ORDER BY random() LIMIT 2);

-- now and then: a primary-key change, and a customer removed with its orders
UPDATE orders SET id = (SELECT max(id) + 1 FROM orders)
WHERE id = (SELECT id FROM orders ORDER BY random() LIMIT 1) AND abs(random()) % 5 = 0;
CREATE TEMP TABLE gone AS
SELECT id FROM (SELECT id FROM customers ORDER BY random() LIMIT 1)
WHERE abs(random()) % 10 = 0;
DELETE FROM orders WHERE customer_id IN gone;
DELETE FROM customers WHERE id IN gone;

-- the table without a primary key
INSERT INTO audit_log (at, actor, action, detail)
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'user' || (abs(random()) % 2000),
       'checkout', 'session ' || hex(randomblob(4))
FROM (SELECT 1 UNION ALL SELECT 2);
UPDATE audit_log SET detail = detail || ' (reviewed)'
WHERE rowid = (SELECT rowid FROM audit_log ORDER BY random() LIMIT 1);
DELETE FROM audit_log WHERE rowid IN (SELECT rowid FROM audit_log ORDER BY rowid LIMIT 2);

COMMIT;
