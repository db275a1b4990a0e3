// Text to numbers, as Keras' TextVectorization does it: standardize (lower case, strip punctuation), split
// into words or characters, look each token up in a vocabulary learned by adapt() from the training texts
// (most frequent first), and emit either token indices padded or cut to a fixed length ("int") or one row
// per text over the vocabulary ("multi_hot": 1 where a token occurs, "count": how often).
//
// Indices, as Keras: in "int" mode 0 is padding and 1 the out-of-vocabulary token, so an Embedding with
// maskZero masks the padding; in the other modes column 0 counts out-of-vocabulary tokens. maxTokens
// counts those reserved indices too. The whole configuration, vocabulary included, is plain JSON: it is
// saved in checkpoints so `predict` takes raw text.

import { InputError } from "../errors";

export const STANDARDIZE = ["lower_and_strip_punctuation", "lower", "none"] as const;
export const SPLIT = ["whitespace", "character"] as const;
export const OUTPUT_MODES = ["int", "multi_hot", "count"] as const;

export interface TextVectorizerConfig {
  standardize: (typeof STANDARDIZE)[number];
  split: (typeof SPLIT)[number];
  outputMode: (typeof OUTPUT_MODES)[number];
  /** Vocabulary size including the reserved indices (padding and out-of-vocabulary); none: every token seen. */
  maxTokens?: number;
  /** "int" mode: every text becomes this many indices (cut, or padded with 0 at the end). */
  outputSequenceLength: number;
  /** The learned tokens, most frequent first; their indices start after the reserved ones. */
  vocabulary: string[];
}

export const PADDING_INDEX = 0;
export const OUT_OF_VOCABULARY = "[UNK]";
// Keras' default punctuation set (string.punctuation), stripped by lower_and_strip_punctuation.
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

export class TextVectorizer {
  readonly config: TextVectorizerConfig;
  private readonly index = new Map<string, number>();

  constructor(config: Partial<TextVectorizerConfig> = {}) {
    this.config = {
      standardize: config.standardize ?? "lower_and_strip_punctuation",
      split: config.split ?? "whitespace",
      outputMode: config.outputMode ?? "int",
      maxTokens: config.maxTokens,
      outputSequenceLength: config.outputSequenceLength ?? 200,
      vocabulary: config.vocabulary ?? [],
    };
    const c = this.config;
    const check = <T extends string>(key: string, value: T, options: readonly T[]) => {
      if (!options.includes(value)) throw new InputError(`text ${key} must be one of ${options.join(", ")}, got '${String(value)}'`);
    };
    check("standardize", c.standardize, STANDARDIZE);
    check("split", c.split, SPLIT);
    check("outputMode", c.outputMode, OUTPUT_MODES);
    if (c.maxTokens !== undefined && (!Number.isInteger(c.maxTokens) || c.maxTokens < this.reserved + 1)) {
      throw new InputError(`text maxTokens must be an integer of at least ${this.reserved + 1} (it counts the ${this.reserved} reserved indices), got ${c.maxTokens}`);
    }
    if (!Number.isInteger(c.outputSequenceLength) || c.outputSequenceLength < 1 || c.outputSequenceLength > 1 << 16) {
      throw new InputError(`text sequence length must be an integer in [1, 65536], got ${c.outputSequenceLength}`);
    }
    if (!Array.isArray(c.vocabulary) || !c.vocabulary.every((t) => typeof t === "string")) throw new InputError("text vocabulary must be a list of strings");
    c.vocabulary.forEach((token, i) => this.index.set(token, i + this.reserved));
  }

  /** Indices before the learned tokens: padding and out-of-vocabulary ("int"), out-of-vocabulary only (otherwise). */
  private get reserved(): number {
    return this.config.outputMode === "int" ? 2 : 1;
  }

  /** Distinct indices the output can hold: what an Embedding's inputDim must be, or the width of a bag of words. */
  get vocabularySize(): number {
    return this.config.vocabulary.length + this.reserved;
  }

  /** Per-sample shape of transform()'s output. */
  get outputShape(): number[] {
    return this.config.outputMode === "int" ? [this.config.outputSequenceLength] : [this.vocabularySize];
  }

  tokens(text: string): string[] {
    const { standardize, split } = this.config;
    let t = standardize === "none" ? text : text.toLowerCase();
    if (standardize === "lower_and_strip_punctuation") t = t.replace(PUNCTUATION, "");
    return split === "character" ? Array.from(t) : t.split(/\s+/).filter((w) => w !== "");
  }

  /** Learns the vocabulary from texts: tokens by falling frequency, ties in order of first appearance. */
  adapt(texts: readonly string[]): void {
    const counts = new Map<string, number>();
    for (const text of texts) for (const token of this.tokens(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
    // Map iteration follows insertion (first appearance); a stable sort keeps that order among equal counts.
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([token]) => token);
    const room = this.config.maxTokens === undefined ? ranked.length : this.config.maxTokens - this.reserved;
    this.config.vocabulary = ranked.slice(0, room);
    this.index.clear();
    this.config.vocabulary.forEach((token, i) => this.index.set(token, i + this.reserved));
  }

  /** Index of a token: its place in the vocabulary, or the out-of-vocabulary index. */
  lookup(token: string): number {
    return this.index.get(token) ?? this.reserved - 1;
  }

  /** texts → [count, …outputShape] floats (indices in "int" mode). */
  transform(texts: readonly string[]): Float32Array {
    const width = this.outputShape[0];
    const out = new Float32Array(texts.length * width);
    texts.forEach((text, i) => {
      const row = out.subarray(i * width, (i + 1) * width);
      const tokens = this.tokens(text);
      if (this.config.outputMode === "int") {
        for (let j = 0; j < Math.min(tokens.length, width); j++) row[j] = this.lookup(tokens[j]);
      } else {
        const counting = this.config.outputMode === "count";
        for (const token of tokens) {
          const column = this.lookup(token);
          row[column] = counting ? row[column] + 1 : 1;
        }
      }
    });
    return out;
  }

  /** The token of an index ("" for padding, "[UNK]" for out-of-vocabulary). */
  tokenAt(index: number): string {
    if (this.config.outputMode === "int" && index === PADDING_INDEX) return "";
    if (index === this.reserved - 1) return OUT_OF_VOCABULARY;
    return this.config.vocabulary[index - this.reserved] ?? OUT_OF_VOCABULARY;
  }

  /** Checks a configuration read from a file (a checkpoint), naming where it came from. */
  static fromConfig(raw: unknown, where: string): TextVectorizer {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InputError(`${where}: the text preprocessing must be an object`);
    try {
      return new TextVectorizer(raw as Partial<TextVectorizerConfig>);
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`${where}: ${error.message}`);
      throw error;
    }
  }
}
