export { Checkpoint, INDEX_FILE, SINGLE_FILE, type TensorExpectation } from './checkpoint.js';
export { SafetensorsFile, type LoadedTensor } from './file.js';
export { encodeSafetensors, writeSafetensors, type TensorToWrite } from './writer.js';
export { MAX_HEADER_BYTES, type Header, type TensorEntry } from './header.js';
export { LOADABLE, SAFETENSORS_BYTES } from './dtypes.js';
