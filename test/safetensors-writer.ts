// Writes safetensors files by hand for the tests (the loader's input, including malformed ones).

export interface RawEntry { name: string; dtype: string; shape: number[]; bytes: Uint8Array; offsets?: [number, number] }

/** A safetensors file written by hand (header padded to 8 bytes like the Rust writer). */
export function writeSafetensors(entries: RawEntry[], headerOverride?: string): Uint8Array {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const e of entries) {
    const value = { dtype: e.dtype, shape: e.shape, data_offsets: e.offsets ?? [at, at + e.bytes.length] };
    Object.defineProperty(header, e.name, { value, enumerable: true }); // even for the name "__proto__"
    at += e.bytes.length;
  }
  let text = headerOverride ?? JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const e of entries) { out.set(e.bytes, p); p += e.bytes.length; }
  return out;
}

export const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
