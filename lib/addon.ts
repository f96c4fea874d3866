// The native backend: loads the addon and adapts it to the backend contract (backend.ts).
// The addon's functions take the contract's records as they are and re-check every size
// before touching memory (native/binding/).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type {
  AttentionArgs, Bf16Path, ComputeBackend, LayerBackend, LayerDesc, MatmulArgs, RotaryArgs, SoftmaxArgs,
} from './backend.js';

/** The addon's exports (native/binding/addon.cc). */
export interface NativeAddon {
  nativeInfo(): { isa: string; bf16: Bf16Path; threads: number; version: string };
  setNumThreads(n: number): void;
  getNumThreads(): number;
  matmul(args: MatmulArgs): void;
  maskedSoftmax(args: SoftmaxArgs): void;
  attention(args: AttentionArgs): void;
  rotary(args: RotaryArgs): void;
  /** A layer: its weights copied and packed once; it implements the contract's LayerBackend. */
  Model: new (desc: LayerDesc) => LayerBackend;
}

let cached: NativeAddon | undefined;

/**
 * The addon, loaded once per environment: MHA_NATIVE_BINARY when set (another build, e.g.
 * cmake-js's), else node-gyp-build's pick from the package root: build/Release (compiled
 * at install or in development), then prebuilds/<platform>-<arch>/.
 */
export function addon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const binary = process.env.MHA_NATIVE_BINARY;
  if (binary) {
    cached = require(binary) as NativeAddon;
  } else {
    const load = require('node-gyp-build') as (packageRoot: string) => unknown;
    cached = load(fileURLToPath(new URL('..', import.meta.url))) as NativeAddon;
  }
  return cached;
}

/** The native backend; the addon is loaded on first use. */
export const nativeBackend: ComputeBackend = {
  name: 'native',
  matmul: (args) => addon().matmul(args),
  maskedSoftmax: (args) => addon().maskedSoftmax(args),
  attention: (args) => addon().attention(args),
  rotary: (args) => addon().rotary(args),
  createLayer: (desc) => new (addon().Model)(desc),
};
