/**
 * The front end's catalogs (front/src/i18n): zh-CN and en hold the same keys, every key the code uses exists, every
 * error code of the contract has a message in both, and no template holds a literal user-facing string.
 * Also the locale-dependent helpers: language from the browser, Intl formats, one rounding of durations.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'vue/compiler-sfc';
import { ERROR_CODES, isErrorCode } from '../../api/contract/errors.js';
import en from '../../front/src/i18n/en.js';
import zhCN from '../../front/src/i18n/zh-CN.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const frontSrc = path.join(root, 'front/src');

/** Words that stay as they are in every language (brand names). */
const ALLOWED_WORDS = ['onair'];

/** Attributes whose literal value is shown to the user (or read by screen readers). */
const TEXT_ATTRIBUTES = ['label', 'placeholder', 'title', 'aria-label', 'sub-title', 'alt'];

type Catalog = { [key: string]: string | Catalog };

function leaves(catalog: Catalog, prefix = ''): string[] {
  return Object.entries(catalog).flatMap(([key, value]) =>
    typeof value === 'string' ? [`${prefix}${key}`] : leaves(value, `${prefix}${key}.`),
  );
}

function lookup(catalog: Catalog, key: string): string | Catalog | undefined {
  let node: string | Catalog | undefined = catalog;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function sourceFiles(dir = frontSrc): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|vue)$/.test(entry.name) ? [full] : [];
  });
}

const relative = (file: string) => path.relative(frontSrc, file).split(path.sep).join('/');
const catalogs: Array<[string, Catalog]> = [
  ['en', en],
  ['zh-CN', zhCN],
];

describe('the catalogs', () => {
  it('zh-CN and en have exactly the same keys, and no empty message', () => {
    const enKeys = leaves(en).sort();
    const zhKeys = leaves(zhCN).sort();
    assert.deepEqual(
      zhKeys.filter((k) => !enKeys.includes(k)),
      [],
      'keys in zh-CN but not in en',
    );
    assert.deepEqual(
      enKeys.filter((k) => !zhKeys.includes(k)),
      [],
      'keys in en but not in zh-CN',
    );
    for (const [name, catalog] of catalogs)
      for (const key of leaves(catalog)) assert.ok(String(lookup(catalog, key)).trim(), `${name}: ${key} is empty`);
  });

  it('the Chinese catalog is Chinese: every message but brand and language names has CJK characters', () => {
    // Brand and language names, and a message of placeholders only (its order is what differs).
    const sameEverywhere = ['app.name', 'languages.en', 'languages.zh-CN', 'recordings.place'];
    for (const key of leaves(zhCN).filter((k) => !sameEverywhere.includes(k)))
      assert.match(String(lookup(zhCN, key)), /\p{Script=Han}/u, `zh-CN: ${key} is not translated`);
  });

  it('every error code of the contract has a message in both languages', () => {
    for (const code of Object.keys(ERROR_CODES))
      for (const [name, catalog] of catalogs)
        assert.equal(typeof lookup(catalog, `errors.${code}`), 'string', `${name}: no message for ${code}`);
  });

  it("every key the front end uses exists in both: t('…'), $t('…'), keys kept in data, and t(`prefix.${…}`)", () => {
    const namespaces = Object.keys(en);
    const used = new Set<string>();
    const prefixes = new Set<string>();
    for (const file of sourceFiles().filter((f) => !relative(f).startsWith('i18n/'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\$?\bt\(\s*'([^']+)'/g)) used.add(m[1]!);
      // Keys held in data (titleKey: 'titles.login', label: 'nav.calls'): any quoted dotted string in a namespace.
      for (const m of text.matchAll(/'([A-Za-z]+(?:\.[\w-]+)+)'/g)) {
        const key = m[1]!;
        if (namespaces.includes(key.split('.')[0]!) && !isErrorCode(key) && !/\.(js|ts|vue|css)$/.test(key))
          used.add(key);
      }
      for (const m of text.matchAll(/\bt\(\s*`([\w.-]+)\.\$\{/g)) prefixes.add(m[1]!);
    }
    assert.ok(used.size > 100, `only ${used.size} keys found: the scan is broken`);
    for (const [name, catalog] of catalogs) {
      const missing = [...used].filter((key) => typeof lookup(catalog, key) !== 'string');
      assert.deepEqual(missing, [], `${name}: keys used but missing`);
      for (const prefix of prefixes)
        assert.equal(typeof lookup(catalog, prefix), 'object', `${name}: no messages under ${prefix}`);
    }
  });
});

/** The few fields of the template AST (@vue/compiler-core) the check reads. */
interface TemplateChildNode {
  type: number;
  content?: string;
  tag?: string;
  props?: Array<{ type: number; name: string; value?: { content: string } }>;
  children?: TemplateChildNode[];
}

/** Literal user-facing strings in a .vue template: text outside `{{ }}`, and literal text attributes. */
function literalStrings(source: string): string[] {
  const { descriptor } = parse(source);
  const found: string[] = [];
  const meaningful = (text: string) => {
    let rest = text;
    for (const word of ALLOWED_WORDS) rest = rest.replaceAll(word, '');
    return /[\p{L}]/u.test(rest);
  };
  const visit = (nodes: TemplateChildNode[]) => {
    for (const node of nodes) {
      // 2: text (interpolations are type 5, comments 3).
      if (node.type === 2 && node.content && meaningful(node.content)) found.push(`text "${node.content.trim()}"`);
      if (node.type === 1)
        for (const prop of node.props ?? [])
          if (prop.type === 6 && TEXT_ATTRIBUTES.includes(prop.name) && prop.value && meaningful(prop.value.content))
            found.push(`${prop.name}="${prop.value.content}" on <${node.tag}>`);
      visit(node.children ?? []);
    }
  };
  visit((descriptor.template?.ast?.children ?? []) as unknown as TemplateChildNode[]);
  return found;
}

describe('the templates', () => {
  const files = sourceFiles().filter((f) => f.endsWith('.vue'));

  it('hold no literal user-facing string (only catalog messages, and brand names)', () => {
    const problems = files.flatMap((file) =>
      literalStrings(readFileSync(file, 'utf8')).map((p) => `${relative(file)}: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

  it('the check finds literal text, literal labels and aria labels (it can fail)', () => {
    const sample = `<template><div><p>Hello there</p><ElInput placeholder="Your name" /><span aria-label="关闭">{{ t('x') }}</span><b>onair</b><i title="—" /></div></template>`;
    assert.deepEqual(literalStrings(sample), [
      'text "Hello there"',
      'placeholder="Your name" on <ElInput>',
      'aria-label="关闭" on <span>',
    ]);
  });
});
