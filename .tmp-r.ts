import { readRecords } from '/work/main/src/data/node/readers.js';
for (const f of ['t.csv','t.tsv','t.jsonl']) {
  try { console.log(f, JSON.stringify(await readRecords('/tmp/rd/'+f))); } catch (e) { console.log(f, String(e)); }
  console.log(f, JSON.stringify(await readRecords('/tmp/rd/'+f, { onError: 'skip' })));
}
try { await readRecords('/tmp/rd/none.csv'); } catch (e) { console.log(String(e)); }
