// The functional API evaluated by the TypeScript reference (exported as `reference`): the same
// signatures, validation and results as the native one, for comparing implementations.
import { functionalApi } from './functional.js';
import { referenceBackend } from './reference-backend.js';

export const { matmul, maskedSoftmax, scaledDotProductAttention, rotaryEmbedding } = functionalApi(referenceBackend);
