export { readJsonl, type JsonlLine } from './jsonl.js';
export { parseRecord, type TrainRecord } from './records.js';
export { IGNORE_INDEX, tokenizeRecord, type TokenizedSequence } from './tokenize.js';
export { loadDataset, datasetOptionsSchema, type Dataset, type DatasetOptions, type DatasetStats } from './dataset.js';
export { PackedLoader, type Cursor, type LoaderState, type LoaderOptions, type TrainBatch } from './loader.js';
export { firstFitDecreasing } from './ffd.js';
export { Prng } from './prng.js';
