// Finds one attention block's weights in a checkpoint and names them the way
// torch.nn.MultiheadAttention's state_dict does (what MultiHeadAttention.fromStateDict reads).
// Understood: PyTorch names (<prefix>in_proj_weight, <prefix>q_proj_weight, ...,
// <prefix>out_proj.weight) and Hugging Face BERT-style names (<prefix>self.query.weight,
// <prefix>self.key.*, <prefix>self.value.*, <prefix>output.dense.*).
import type { Tensor } from './types.js';

const TORCH_MARKERS = ['in_proj_weight', 'q_proj_weight'];
const HF_MARKER = 'self.query.weight';

function findPrefixes(names: string[]): string[] {
  const found = new Set<string>();
  for (const name of names) {
    for (const marker of [...TORCH_MARKERS, HF_MARKER]) {
      if (name.endsWith(marker)) found.add(name.slice(0, name.length - marker.length));
    }
  }
  return [...found].sort();
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The torch-named state dict of the attention block at `prefix` (found when omitted). */
export function attentionStateDict(tensors: Record<string, Tensor>, prefix?: string): Record<string, Tensor> {
  const names = Object.keys(tensors);
  if (prefix === undefined) {
    const prefixes = findPrefixes(names);
    if (prefixes.length === 0) {
      throw new RangeError(`no attention weights found: expected <prefix>in_proj_weight, <prefix>q_proj_weight or <prefix>${HF_MARKER}; the file holds ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`);
    }
    if (prefixes.length > 1) {
      throw new RangeError(`several attention blocks found; pass options.prefix, one of: ${prefixes.map((p) => JSON.stringify(p)).join(', ')}`);
    }
    prefix = prefixes[0];
  } else if (typeof prefix !== 'string') {
    throw new TypeError(`options.prefix must be a string, got ${typeof prefix}`);
  }
  const get = (name: string): Tensor | undefined => (Object.hasOwn(tensors, prefix + name) ? tensors[prefix + name] : undefined);
  if (![...TORCH_MARKERS, HF_MARKER].some(get)) {
    throw new RangeError(`no attention block at prefix ${JSON.stringify(prefix)}; blocks found: ${findPrefixes(names).map((p) => JSON.stringify(p)).join(', ') || 'none'}`);
  }
  if (!get(HF_MARKER)) {
    const state: Record<string, Tensor> = {};
    for (const name of names) if (name.startsWith(prefix)) state[name.slice(prefix.length)] = tensors[name];
    return state;
  }
  const need = (name: string): Tensor => {
    const t = get(name);
    if (!t) throw new RangeError(`missing weight '${prefix}${name}' (Hugging Face attention block at prefix ${JSON.stringify(prefix)})`);
    return t;
  };
  const state: Record<string, Tensor> = {
    q_proj_weight: need('self.query.weight'),
    k_proj_weight: need('self.key.weight'),
    v_proj_weight: need('self.value.weight'),
    'out_proj.weight': need('output.dense.weight'),
  };
  const biases = ['self.query.bias', 'self.key.bias', 'self.value.bias'].map(get);
  if (biases.every((b) => b)) {
    state.in_proj_bias = { data: concat(biases.map((b) => b!.data)), shape: [biases.reduce((n, b) => n + b!.data.length, 0)] };
  } else if (biases.some((b) => b)) {
    throw new RangeError(`the attention block at prefix ${JSON.stringify(prefix)} has some of self.query/key/value.bias but not all`);
  }
  const outBias = get('output.dense.bias');
  if (outBias) state['out_proj.bias'] = outBias;
  return state;
}
