// Public surface of the tokenizers folder.
export * from './tokenizer.ts';
export { ClipBpeTokenizer, CLIP_BOS_TOKEN, CLIP_EOS_TOKEN, type ClipBpeOptions } from './clip-bpe.ts';
export {
  clipBpeFromSimpleVocab,
  clipBpeFromVocabMerges,
  clipBpeFromHfTokenizerJson,
  loadClipBpe,
  CLIP_SIMPLE_VOCAB_MERGES,
} from './clip-bpe-load.ts';
export { cleanClipText, fixText, preTokenize } from './clip-text.ts';
export { FairseqDictionary, parseFairseqDictionary, KOSMOS_G_EXTRA_SYMBOLS } from './fairseq-dictionary.ts';
export { SentencePieceTokenizer, loadSentencePieceModel, loadSentencePieceTokenizer } from './sentencepiece.ts';
export {
  WordTokenizer,
  buildWordTokenizer,
  wordTokenizerFromJson,
  saveWordTokenizer,
  loadWordTokenizer,
  WORD_TOKENIZER_FORMAT,
  type WordTokenizerFile,
  type BuildWordTokenizerOptions,
} from './word-tokenizer.ts';
export { loadTokenizer, type LoadTokenizerOptions } from './load.ts';
