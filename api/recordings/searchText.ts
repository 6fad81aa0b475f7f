/**
 * Text search of the library on MySQL/MariaDB: the words of a recording's title and of its presenter's nickname,
 * written as tokens into `recordings.searchText`, which a FULLTEXT index reads.
 *
 * Why tokens of our own rather than MySQL 8's `WITH PARSER ngram`: MariaDB (10.11 here) has no ngram parser (its
 * InnoDB FULLTEXT only splits on non-word characters, so "音乐会直播" is one word), and MySQL's default parser drops
 * words shorter than `innodb_ft_min_token_size` (3) and stop words ("a", "the", "in"…). So the text is tokenised
 * here the way the ngram parser would (CJK runs into overlapping bigrams, plus single characters), every token is
 * prefixed with `t_` (which lifts it over the minimum size and out of the stop-word list), and the query is
 * tokenised the same way. The same column and index work unchanged on MySQL 8 and MariaDB, so what the tests
 * prove here is what production runs. SQLite uses FTS5's trigram tokenizer instead (see RecordingQuery.ts).
 */

/** Han, kana, Hangul and CJK punctuation-free symbols: scripts written without spaces between words. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** Runs of letters and digits (CJK included; split further below). */
const WORD_RUN = /[\p{L}\p{N}]+/gu;
const PREFIX = 't_';
/** InnoDB's innodb_ft_max_token_size is 84 characters. */
const TOKEN_MAX = 80;

interface QueryTerm {
  token: string;
  /** Latin words match as prefixes (`conc` finds "concert"); CJK grams exactly. */
  prefix: boolean;
}

function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Splits a run of letters into its CJK runs and its other runs. */
function* pieces(run: string): Generator<{ cjk: boolean; text: string }> {
  let current = '';
  let currentCjk = false;
  for (const ch of run) {
    const cjk = CJK.test(ch);
    if (current && cjk !== currentCjk) {
      yield { cjk: currentCjk, text: current };
      current = '';
    }
    current += ch;
    currentCjk = cjk;
  }
  if (current) yield { cjk: currentCjk, text: current };
}

function bigrams(chars: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** The tokens of a text, as stored (each with its `t_` prefix), space-separated; repeats count for the ranking. */
export function searchTokens(...texts: Array<string | null | undefined>): string {
  const tokens: string[] = [];
  for (const text of texts) {
    if (!text) continue;
    for (const run of normalise(text).match(WORD_RUN) ?? []) {
      for (const piece of pieces(run)) {
        if (!piece.cjk) {
          tokens.push(piece.text.slice(0, TOKEN_MAX));
          continue;
        }
        const chars = [...piece.text];
        tokens.push(...chars, ...bigrams(chars));
      }
    }
  }
  return tokens.map((t) => PREFIX + t).join(' ');
}

/** The terms of a query: every one must match (CJK runs as their bigrams, a single CJK character as itself). */
export function queryTerms(q: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  for (const run of normalise(q).match(WORD_RUN) ?? []) {
    for (const piece of pieces(run)) {
      if (!piece.cjk) {
        terms.push({ token: piece.text.slice(0, TOKEN_MAX), prefix: true });
        continue;
      }
      const chars = [...piece.text];
      const grams = chars.length === 1 ? chars : bigrams(chars);
      for (const gram of grams) terms.push({ token: gram, prefix: false });
    }
  }
  return terms;
}

/**
 * A MySQL boolean-mode query for `q` (every term required), or null when `q` has no letter or digit at all
 * (then nothing matches). Tokens hold only letters, digits and `_`, so no boolean operator can come from `q`.
 */
export function booleanQuery(q: string): string | null {
  const terms = queryTerms(q);
  if (terms.length === 0) return null;
  return terms.map((t) => `+${PREFIX}${t.token}${t.prefix ? '*' : ''}`).join(' ');
}
