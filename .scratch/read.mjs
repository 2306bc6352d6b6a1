import Database from 'better-sqlite3';
const db = new Database(process.env.HOME + '/.cache/liteshift/bench/todo-1000000.db', { readonly: true });
for (const safe of [true, false, true, false]) {
  const s = db.prepare('SELECT id,user_id,recurring_pattern_id,title,description,status,priority,due_date,completed,completed_at,created_at,updated_at FROM tasks WHERE id > ? ORDER BY id LIMIT ?').raw(true).safeIntegers(safe);
  let t = performance.now(), cur = 0, n = 0;
  for (;;) { const rows = s.all(cur, 5000); if (!rows.length) break; n += rows.length; cur = rows[rows.length-1][0]; }
  console.log('safe', safe, n, (performance.now() - t).toFixed(0), 'ms');
}
const s2 = db.prepare('SELECT count(*), sum(length(title)), sum(length(description)) FROM tasks');
let t = performance.now(); console.log(s2.raw(true).get(), (performance.now() - t).toFixed(0), 'ms sqlite-only scan');
