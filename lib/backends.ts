// The backends by name: what options.backend selects.
import { nativeBackend } from './addon.js';
import type { BackendName, ComputeBackend } from './backend.js';
import { referenceBackend } from './reference-backend.js';
import { checkOneOf } from './validate.js';

const BACKENDS: Record<BackendName, ComputeBackend> = { native: nativeBackend, reference: referenceBackend };

/** options.backend (default 'native') -> the backend; TypeError naming the option otherwise. */
export function backendNamed(name: string, value: unknown): ComputeBackend {
  return BACKENDS[checkOneOf(name, value, ['native', 'reference'] as const, 'native')];
}
