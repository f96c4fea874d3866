// Finds one attention block's weights in a checkpoint and names them the way
// torch.nn.MultiheadAttention's state_dict does (what MultiHeadAttention.fromStateDict reads).
// Understood: PyTorch names (<prefix>in_proj_weight, <prefix>q_proj_weight, ...,
// <prefix>out_proj.weight), Hugging Face BERT-style names (<prefix>self.query.weight,
// <prefix>self.key.*, <prefix>self.value.*, <prefix>output.dense.*) and Llama-style names
// (<prefix>q_proj.weight, k_proj.*, v_proj.*, o_proj.*; k/v may have fewer heads).
import type { Tensor } from './types.js';

type Value = Float32Array | Tensor;

const TORCH_MARKERS = ['in_proj_weight', 'q_proj_weight'];

/** A naming scheme with one weight (and optional bias) per projection: <name>.weight / .bias. */
interface ProjectionNames { scheme: string; q: string; k: string; v: string; out: string }

const PROJECTION_SCHEMES: ProjectionNames[] = [
  { scheme: 'Hugging Face BERT', q: 'self.query', k: 'self.key', v: 'self.value', out: 'output.dense' },
  { scheme: 'Llama', q: 'q_proj', k: 'k_proj', v: 'v_proj', out: 'o_proj' },
];

const MARKERS = [...TORCH_MARKERS, ...PROJECTION_SCHEMES.map((names) => `${names.q}.weight`)];

function findPrefixes(names: string[]): string[] {
  const found = new Set<string>();
  for (const name of names) {
    for (const marker of MARKERS) {
      if (name.endsWith(marker)) found.add(name.slice(0, name.length - marker.length));
    }
  }
  return [...found].sort();
}

const dataOf = (value: Value): Float32Array => (value instanceof Float32Array ? value : value.data);

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * The torch names of a block in a per-projection scheme: q/k/v weights as q/k/v_proj_weight and
 * their biases (all three or none) packed as in_proj_bias; the output projection as out_proj.*,
 * whose bias is zeros when the q/k/v biases are there without it (as in Qwen2).
 */
function renamed(get: (name: string) => Value | undefined, names: ProjectionNames, where: string):
  Record<string, Value> {
  const need = (name: string): Value => {
    const value = get(name);
    if (!value) throw new RangeError(`missing weight '${where}${name}' (${names.scheme} attention block)`);
    return value;
  };
  const state: Record<string, Value> = {
    q_proj_weight: need(`${names.q}.weight`),
    k_proj_weight: need(`${names.k}.weight`),
    v_proj_weight: need(`${names.v}.weight`),
    'out_proj.weight': need(`${names.out}.weight`),
  };
  const biases = [names.q, names.k, names.v].map((name) => get(`${name}.bias`));
  const outBias = get(`${names.out}.bias`);
  if (biases.every((b) => b)) {
    const parts = biases.map((b) => dataOf(b!));
    state.in_proj_bias = concat(parts);
    state['out_proj.bias'] = outBias ?? new Float32Array(parts[0].length);
  } else if (biases.some((b) => b)) {
    throw new RangeError(`the ${names.scheme} attention block ${where ? `at prefix ${JSON.stringify(where)} ` : ''}` +
      `has some of ${names.q}/${names.k}/${names.v}.bias but not all`);
  } else if (outBias) {
    state['out_proj.bias'] = outBias;
  }
  return state;
}

const hasOwn = (state: Record<string, unknown>, name: string) => Object.hasOwn(state, name);

/** A block's state with its names (no prefix) in torch's scheme: per-projection names renamed,
 * torch names as they are. */
export function torchNamedState(state: Record<string, unknown>): Record<string, unknown> {
  const names = PROJECTION_SCHEMES.find((scheme) => hasOwn(state, `${scheme.q}.weight`));
  if (!names) return state;
  return renamed((name) => (hasOwn(state, name) ? state[name] as Value : undefined), names, '');
}

/** The torch-named state dict of the attention block at `prefix` (found when omitted). */
export function attentionStateDict(tensors: Record<string, Tensor>, prefix?: string): Record<string, Value> {
  const names = Object.keys(tensors);
  if (prefix === undefined) {
    const prefixes = findPrefixes(names);
    if (prefixes.length === 0) {
      throw new RangeError(`no attention weights found: expected ${MARKERS.map((m) => `<prefix>${m}`).join(', ')}; ` +
        `the file holds ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`);
    }
    if (prefixes.length > 1) {
      throw new RangeError(`several attention blocks found; pass options.prefix, one of: ${prefixes.map((p) => JSON.stringify(p)).join(', ')}`);
    }
    prefix = prefixes[0];
  } else if (typeof prefix !== 'string') {
    throw new TypeError(`options.prefix must be a string, got ${typeof prefix}`);
  }
  const at = prefix;
  const get = (name: string): Tensor | undefined => (hasOwn(tensors, at + name) ? tensors[at + name] : undefined);
  if (!MARKERS.some(get)) {
    throw new RangeError(`no attention block at prefix ${JSON.stringify(at)}; blocks found: ${findPrefixes(names).map((p) => JSON.stringify(p)).join(', ') || 'none'}`);
  }
  const scheme = PROJECTION_SCHEMES.find((s) => get(`${s.q}.weight`));
  if (scheme) return renamed(get, scheme, at);
  const state: Record<string, Tensor> = {};
  for (const name of names) if (name.startsWith(at)) state[name.slice(at.length)] = tensors[name];
  return state;
}
