// TextVectorizer against Keras' TextVectorization semantics, written out by hand: standardization (lower
// case, Keras' punctuation set stripped), word and character splits, the reserved indices (int: 0 padding,
// 1 out-of-vocabulary; multi_hot/count: 0 out-of-vocabulary), maxTokens counting them, ranking by
// frequency with ties in order of first appearance, padding and cutting to outputSequenceLength, and a
// configuration that round-trips through JSON (as checkpoints store it). Also the CSV text reader and the
// label indexing the text datasets use.

import { describe, expect, test } from "bun:test";
import { parseCsvCells } from "../../src/data/csv";
import { indexLabels } from "../../src/data/text-dataset";
import { TextVectorizer } from "../../src/data/text-vectorizer";
import { InputError } from "../../src/errors";

const TEXTS = ["The cat sat.", "the CAT, the hat!", "A dog?"];

describe("TextVectorizer", () => {
  test("lower_and_strip_punctuation and a whitespace split", () => {
    expect(new TextVectorizer().tokens("Hello,  World! It's (almost) 5:30\tnow")).toEqual(["hello", "world", "its", "almost", "530", "now"]);
    expect(new TextVectorizer({ standardize: "lower" }).tokens("Hi, THERE")).toEqual(["hi,", "there"]);
    expect(new TextVectorizer({ standardize: "none" }).tokens("Hi, THERE")).toEqual(["Hi,", "THERE"]);
    expect(new TextVectorizer({ split: "character" }).tokens("Ab c!")).toEqual(["a", "b", " ", "c"]);
  });

  test("adapt ranks by frequency, ties by first appearance; int mode pads, cuts, and maps unknown words to 1", () => {
    const v = new TextVectorizer({ outputSequenceLength: 4 });
    v.adapt(TEXTS);
    // the ×3, cat ×2, then sat, hat, a, dog once each in order of appearance.
    expect(v.config.vocabulary).toEqual(["the", "cat", "sat", "hat", "a", "dog"]);
    expect(v.vocabularySize).toBe(8);
    expect(Array.from(v.transform(["the cat sat on the mat", "dog", ""]))).toEqual([2, 3, 4, 1, 7, 0, 0, 0, 0, 0, 0, 0]);
    expect([v.tokenAt(0), v.tokenAt(1), v.tokenAt(2)]).toEqual(["", "[UNK]", "the"]);
  });

  test("maxTokens counts the reserved indices; multi_hot and count put out-of-vocabulary in column 0", () => {
    const capped = new TextVectorizer({ maxTokens: 4 });
    capped.adapt(TEXTS);
    expect(capped.config.vocabulary).toEqual(["the", "cat"]);
    const hot = new TextVectorizer({ outputMode: "multi_hot", maxTokens: 4 });
    hot.adapt(TEXTS);
    expect(hot.config.vocabulary).toEqual(["the", "cat", "sat"]);
    expect(hot.outputShape).toEqual([4]);
    expect(Array.from(hot.transform(["the the mouse", "cat sat"]))).toEqual([1, 1, 0, 0, 0, 0, 1, 1]);
    const count = new TextVectorizer({ outputMode: "count", maxTokens: 4 });
    count.adapt(TEXTS);
    expect(Array.from(count.transform(["the the mouse mouse mouse"]))).toEqual([3, 2, 0, 0]);
  });

  test("the configuration round-trips through JSON and gives the same output", () => {
    const v = new TextVectorizer({ maxTokens: 10, outputSequenceLength: 5, split: "character" });
    v.adapt(["hello world", "help"]);
    const again = TextVectorizer.fromConfig(JSON.parse(JSON.stringify(v.config)), "checkpoint");
    expect(Array.from(again.transform(["hold", "xyz"]))).toEqual(Array.from(v.transform(["hold", "xyz"])));
  });

  test("bad settings are InputErrors naming the setting", () => {
    expect(() => new TextVectorizer({ maxTokens: 2 })).toThrow(/maxTokens must be an integer of at least 3/);
    expect(() => new TextVectorizer({ outputMode: "tf_idf" as "int" })).toThrow(InputError);
    expect(() => new TextVectorizer({ outputSequenceLength: 0 })).toThrow(/sequence length/);
    expect(() => TextVectorizer.fromConfig({ vocabulary: [1, 2] }, "x.wgd")).toThrow(/x.wgd: text vocabulary must be a list of strings/);
    expect(() => TextVectorizer.fromConfig("nope", "x.wgd")).toThrow(/must be an object/);
  });
});

describe("text tables and labels", () => {
  test("parseCsvCells keeps text cells, quotes and line breaks inside them", () => {
    const t = parseCsvCells('body,label\n"Hi, there\nfriend",ham\nBUY NOW,spam\n', { source: "m.csv" });
    expect(t.columns).toEqual(["body", "label"]);
    expect(t.rows).toEqual([["Hi, there\nfriend", "ham"], ["BUY NOW", "spam"]]);
    expect(t.lines).toEqual([2, 4]);
    expect(() => parseCsvCells("a,b\n1\n", { source: "m.csv" })).toThrow(/row 2 has 1 cells, the header has 2/);
  });

  test("labels are indexed by sorted name, numbers by value", () => {
    expect(indexLabels(["spam", "ham", "spam"])).toEqual({ classNames: ["ham", "spam"], labels: Int32Array.from([1, 0, 1]) });
    expect(indexLabels(["10", "2", "0"])).toEqual({ classNames: ["0", "2", "10"], labels: Int32Array.from([2, 1, 0]) });
  });
});
