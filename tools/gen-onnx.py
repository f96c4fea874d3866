#!/usr/bin/python3
"""Generate the ONNX Runtime peer graphs for the benchmark (bench/models/*.onnx).

Every weight is a graph INPUT, so the files stay tiny and the bench feeds the same weights
it gives every other backend. Batch and sequence dims are symbolic; E, H and the mask kind
are baked in (num_heads is an attribute, the plain graph's scale a constant), so there is
one file per (variant, E, H, mask). Run: /usr/bin/python3 tools/gen-onnx.py
Needs only the `onnx` package (onnx.helper); no torch.

Variants (naming: <variant>_e<E>_h<H>_<mask>.onnx, mask in none|keypad|causal):
  attention  com.microsoft.Attention (packed QKV weight [E,3E] + bias [3E]; mask_index int32
             [B,S] 1=attend; causal via unidirectional=1) + MatMul/Add output projection.
             Self-attention only (one input tensor).
  mha        MatMul projections + com.microsoft.MultiHeadAttention (q/k/v bias packed [3E]
             as the op's bias input; key_padding_mask int32 [B,S]; causal via
             unidirectional=1) + MatMul/Add output projection. Self- or cross-attention.
  plain      standard ONNX ops only: MatMul, Add, Reshape, Transpose, Mul, Where, Softmax.
             The blocked-positions mask is a bool input ([B,1,1,S] key padding, [1,1,L,S] causal).
Decode (W3, keys/values already projected, q [B,H,1,D] == [B,1,E] in memory):
  sdpa_mha4d   com.microsoft.MultiHeadAttention with K/V given as [B,H,S,D].
  sdpa_mhapast com.microsoft.MultiHeadAttention with S-1 positions as past_key/past_value
               [B,H,S-1,D] and the newest key/value as the [B,1,E] key/value inputs.
  sdpa_plain   MatMul(q, Transpose(k)) * scale -> Softmax -> MatMul(v), all [B,H,*,D].
Grouped-query decode step (W7), no biases (Llama): x [B,1,E] projected by MatMul with wq_t [E,E],
wk_t / wv_t [E,Hkv*D], then the output projection w_out_t [E,E]:
  gqa_past_e<E>_h<H>_kv<Hkv>   com.microsoft.GroupQueryAttention (num_heads H, kv_num_heads Hkv,
               do_rotary 1, rotary_interleaved 0) with past_key/past_value [B,Hkv,P,D] (BNSH, keys
               already rotated), seqlens_k int32 [B] (= total length - 1 per sequence),
               total_sequence_length int32 scalar, cos_cache/sin_cache [max_seq, D/2]. Outputs y and
               present_key/present_value [B,Hkv,P+1,D] (the caller decides which to fetch).
  gqa_plain_e<E>_h<H>_kv<Hkv>  standard ONNX ops: RoPE of the new q and k as x*cos + rotate_half(x)*sin
               (cos/sin [1,1,1,D] inputs for the new position, both halves), Concat of past and new K/V,
               the H query heads grouped [B,Hkv,H/Hkv,D] against their key/value head, Softmax, MatMul.
Sliding-window prefill (W2w), biases as Add after each projection:
  gqa_window_e<E>_h<H>_w<W>    com.microsoft.GroupQueryAttention with kv_num_heads = num_heads and
               a window of W keys before each query (API.md's window.left = W: query i sees keys
               i-W..i), no past; seqlens_k [B] = L - 1, total_sequence_length = L.
SGEMM: matmul.onnx  A [M,K] x B [K,N];  bmm.onnx  A [B,M,K] x B [B,K,N] (batched).
Int8 dynamic-quantized layers (W1, W2, W5 and their tiny stand-ins), as onnxruntime's
quantize_dynamic (QOperator format: int8 weights, uint8 activations quantized at run time) would
turn the attention and mha graphs above into, in the fused form onnxruntime's graph optimizer
gives them (DynamicQuantizeLinear + MatMulInteger + Cast + Mul + Add -> DynamicQuantizeMatMul with
its bias), named q8_<variant>_<scheme>_e<E>_h<H>_<mask>.onnx with scheme in tensor|column:
  q8_attention  DynamicQuantizeLinear(x) -> com.microsoft.QAttention (int8 packed weight [E,3E],
                bias [3E]; mask_index int32 [B,S] 1=attend; unidirectional=1 for causal) ->
                com.microsoft.DynamicQuantizeMatMul output projection with its bias. Self only.
  q8_mha        com.microsoft.DynamicQuantizeMatMul projections of query / key / value (int8
                weights [E,E], [in, out]) -> com.microsoft.MultiHeadAttention (float32; q/k/v bias
                packed [3E]; key_padding_mask) -> DynamicQuantizeMatMul output projection.
  tensor: one scale and zero point per weight (quantize_dynamic's default, per_channel=False);
  column: one per output column (per_channel=True: quantize_dynamic quantizes MatMul's B and
  Attention's weight along their last axis).
The quantized weights, their scales and zero points and the biases are initializers whose data
is EXTERNAL (ONNX external data: <name>.bin beside the graph file, raw little-endian, no offset):
bench/peers/ort.mjs quantizes the workload's float weights when it loads a graph and writes those
files next to a copy of it, so the weights are constants for onnxruntime (prepacked, as in a
quantized model) while the committed file holds only the graph.
"""
import math
import os
import sys

import onnx
from onnx import TensorProto, helper

OPSET = [helper.make_opsetid('', 17), helper.make_opsetid('com.microsoft', 1)]
F32, I32, BOOL, I8 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.BOOL, TensorProto.INT8

# (E, H, mask) for the workloads of shared/WORKLOADS.md and the harness test's tiny ones.
# W6 runs the keypad graphs padded and the none graphs one request at a time; W2w's plain-ops
# row is the causal graph fed a band mask.
LAYER_CONFIGS = [(768, 12, 'keypad'), (768, 12, 'causal'), (768, 12, 'none'), (256, 4, 'none'),
                 (512, 8, 'keypad'), (32, 4, 'keypad'), (32, 4, 'none'), (32, 4, 'causal')]
DECODE_CONFIGS = [(768, 12), (32, 4)]
# (E, H, Hkv): W7 and its tiny stand-in T7 (the op's rotary needs D a multiple of 16)
GQA_DECODE_CONFIGS = [(2048, 32, 8), (64, 4, 2)]
# (E, H, window): W2w and its tiny stand-in T2w
GQA_WINDOW_CONFIGS = [(768, 12, 256), (32, 4, 5)]
# (E, H, mask, self-attention): the int8 layers of W1, W2, W5 and the tiny T1, T2, T5. The mha
# graphs serve self- and cross-attention (query, key and value are inputs); QAttention is self only.
INT8_CONFIGS = [(768, 12, 'keypad', True), (768, 12, 'causal', True), (512, 8, 'keypad', False),
                (32, 4, 'keypad', True), (32, 4, 'causal', True), (32, 4, 'keypad', False)]
INT8_SCHEMES = ('tensor', 'column')


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const_i64(name, values):
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(
        name + '_v', TensorProto.INT64, [len(values)], values))


def const_f32(name, value):
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(
        name + '_v', F32, [], [value]))


def save(graph, out_dir, name):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name='mha-native bench')
    model.ir_version = 8
    onnx.checker.check_model(inline_external(model))
    onnx.save(model, os.path.join(out_dir, name))


def external(name, elem, dims):
    """An initializer whose data is the file <name>.bin beside the graph (written at load time)."""
    t = TensorProto(name=name, data_type=elem, dims=dims, data_location=TensorProto.EXTERNAL)
    entry = t.external_data.add()
    entry.key, entry.value = 'location', name + '.bin'
    return t


def inline_external(model):
    """A copy of model whose external initializers hold zeros inline: the checker opens external
    data files, which exist only at load time."""
    size = {I8: 1, F32: 4}
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for t in copy.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            count = math.prod(t.dims)
            del t.external_data[:]
            t.data_location = TensorProto.DEFAULT
            t.raw_data = bytes(count * size[t.data_type])
    return copy


def out_projection(ctx, e):
    """ctx [B,L,E] -> y = ctx @ w_out_t + b_out."""
    nodes = [helper.make_node('MatMul', [ctx, 'w_out_t'], ['y_mm']),
             helper.make_node('Add', ['y_mm', 'b_out'], ['y'])]
    inputs = [vi('w_out_t', F32, [e, e]), vi('b_out', F32, [e])]
    return nodes, inputs


def attention_graph(e, h, mask):
    attrs = {'num_heads': h, 'unidirectional': 1 if mask == 'causal' else 0}
    op_inputs = ['x', 'w_qkv', 'b_qkv'] + (['mask_index'] if mask == 'keypad' else [])
    nodes = [helper.make_node('Attention', op_inputs, ['ctx'], domain='com.microsoft', **attrs)]
    inputs = [vi('x', F32, ['B', 'L', e]), vi('w_qkv', F32, [e, 3 * e]), vi('b_qkv', F32, [3 * e])]
    if mask == 'keypad':
        inputs.append(vi('mask_index', I32, ['B', 'L']))
    proj_nodes, proj_inputs = out_projection('ctx', e)
    return helper.make_graph(nodes + proj_nodes, f'attention_e{e}_h{h}_{mask}',
                             inputs + proj_inputs, [vi('y', F32, ['B', 'L', e])])


def projection_inputs(e):
    return [vi('query', F32, ['B', 'L', e]), vi('key', F32, ['B', 'S', e]),
            vi('value', F32, ['B', 'S', e]), vi('wq_t', F32, [e, e]),
            vi('wk_t', F32, [e, e]), vi('wv_t', F32, [e, e])]


def mha_graph(e, h, mask):
    nodes = [helper.make_node('MatMul', ['query', 'wq_t'], ['q']),
             helper.make_node('MatMul', ['key', 'wk_t'], ['k']),
             helper.make_node('MatMul', ['value', 'wv_t'], ['v'])]
    op_inputs = ['q', 'k', 'v', 'b_qkv'] + (['key_padding_mask'] if mask == 'keypad' else [])
    attrs = {'num_heads': h}
    if mask == 'causal':
        attrs['unidirectional'] = 1
    nodes.append(helper.make_node('MultiHeadAttention', op_inputs, ['ctx'],
                                  domain='com.microsoft', **attrs))
    inputs = projection_inputs(e) + [vi('b_qkv', F32, [3 * e])]
    if mask == 'keypad':
        inputs.append(vi('key_padding_mask', I32, ['B', 'S']))
    proj_nodes, proj_inputs = out_projection('ctx', e)
    return helper.make_graph(nodes + proj_nodes, f'mha_e{e}_h{h}_{mask}',
                             inputs + proj_inputs, [vi('y', F32, ['B', 'L', e])])


def heads_nodes(src, w, b, perm, out):
    """src [B,T,E] -> (src @ w + b) reshaped [B,T,H,D] and transposed by perm."""
    return [helper.make_node('MatMul', [src, w], [out + '_mm']),
            helper.make_node('Add', [out + '_mm', b], [out + '_p']),
            helper.make_node('Reshape', [out + '_p', 'heads_shape'], [out + '_r']),
            helper.make_node('Transpose', [out + '_r'], [out], perm=perm)]


def plain_graph(e, h, mask):
    d = e // h
    nodes = [const_i64('heads_shape', [0, 0, h, d]), const_i64('merged_shape', [0, 0, e]),
             const_f32('scale', 1.0 / math.sqrt(d))]
    nodes += heads_nodes('query', 'wq_t', 'bq', [0, 2, 1, 3], 'qh')    # [B,H,L,D]
    nodes += heads_nodes('key', 'wk_t', 'bk', [0, 2, 3, 1], 'kt')      # [B,H,D,S]
    nodes += heads_nodes('value', 'wv_t', 'bv', [0, 2, 1, 3], 'vh')    # [B,H,S,D]
    nodes += [helper.make_node('MatMul', ['qh', 'kt'], ['scores_raw']),
              helper.make_node('Mul', ['scores_raw', 'scale'], ['scores'])]
    logits = 'scores'
    inputs = projection_inputs(e) + [vi('bq', F32, [e]), vi('bk', F32, [e]), vi('bv', F32, [e])]
    if mask != 'none':
        shape = ['B', 1, 1, 'S'] if mask == 'keypad' else [1, 1, 'L', 'S']
        inputs.append(vi('blocked', BOOL, shape))
        nodes.append(const_f32('neg_inf', float('-inf')))
        nodes.append(helper.make_node('Where', ['blocked', 'neg_inf', 'scores'], ['masked']))
        logits = 'masked'
    nodes += [helper.make_node('Softmax', [logits], ['probs'], axis=-1),
              helper.make_node('MatMul', ['probs', 'vh'], ['ctx_h']),
              helper.make_node('Transpose', ['ctx_h'], ['ctx_t'], perm=[0, 2, 1, 3]),
              helper.make_node('Reshape', ['ctx_t', 'merged_shape'], ['ctx'])]
    proj_nodes, proj_inputs = out_projection('ctx', e)
    return helper.make_graph(nodes + proj_nodes, f'plain_e{e}_h{h}_{mask}',
                             inputs + proj_inputs, [vi('y', F32, ['B', 'L', e])])


def sdpa_mha4d_graph(e, h):
    d = e // h
    node = helper.make_node('MultiHeadAttention', ['q', 'k', 'v'], ['y'],
                            domain='com.microsoft', num_heads=h)
    return helper.make_graph([node], f'sdpa_mha4d_e{e}_h{h}',
                             [vi('q', F32, ['B', 1, e]), vi('k', F32, ['B', h, 'S', d]),
                              vi('v', F32, ['B', h, 'S', d])], [vi('y', F32, ['B', 1, e])])


def sdpa_mhapast_graph(e, h):
    d = e // h
    node = helper.make_node('MultiHeadAttention',
                            ['q', 'k_new', 'v_new', '', '', '', 'past_key', 'past_value'],
                            ['y', 'present_key', 'present_value'],
                            domain='com.microsoft', num_heads=h)
    inputs = [vi('q', F32, ['B', 1, e]), vi('k_new', F32, ['B', 1, e]),
              vi('v_new', F32, ['B', 1, e]), vi('past_key', F32, ['B', h, 'P', d]),
              vi('past_value', F32, ['B', h, 'P', d])]
    outputs = [vi('y', F32, ['B', 1, e]), vi('present_key', F32, ['B', h, 'S', d]),
               vi('present_value', F32, ['B', h, 'S', d])]
    return helper.make_graph([node], f'sdpa_mhapast_e{e}_h{h}', inputs, outputs)


def sdpa_plain_graph(e, h):
    d = e // h
    nodes = [const_f32('scale', 1.0 / math.sqrt(d)),
             helper.make_node('Transpose', ['k'], ['kt'], perm=[0, 1, 3, 2]),
             helper.make_node('MatMul', ['q', 'kt'], ['scores_raw']),
             helper.make_node('Mul', ['scores_raw', 'scale'], ['scores']),
             helper.make_node('Softmax', ['scores'], ['probs'], axis=-1),
             helper.make_node('MatMul', ['probs', 'v'], ['y'])]
    inputs = [vi('q', F32, ['B', h, 'L', d]), vi('k', F32, ['B', h, 'S', d]),
              vi('v', F32, ['B', h, 'S', d])]
    return helper.make_graph(nodes, f'sdpa_plain_e{e}_h{h}', inputs,
                             [vi('y', F32, ['B', h, 'L', d])])


def gqa_decode_inputs(e, h, hkv):
    kv = e // h * hkv
    return [vi('x', F32, ['B', 1, e]), vi('wq_t', F32, [e, e]), vi('wk_t', F32, [e, kv]),
            vi('wv_t', F32, [e, kv]), vi('w_out_t', F32, [e, e])]


def gqa_past_graph(e, h, hkv):
    d = e // h
    nodes = [helper.make_node('MatMul', ['x', 'wq_t'], ['q']),
             helper.make_node('MatMul', ['x', 'wk_t'], ['k']),
             helper.make_node('MatMul', ['x', 'wv_t'], ['v']),
             helper.make_node('GroupQueryAttention',
                              ['q', 'k', 'v', 'past_key', 'past_value', 'seqlens_k',
                               'total_sequence_length', 'cos_cache', 'sin_cache'],
                              ['ctx', 'present_key', 'present_value'], domain='com.microsoft',
                              num_heads=h, kv_num_heads=hkv, do_rotary=1, rotary_interleaved=0),
             helper.make_node('MatMul', ['ctx', 'w_out_t'], ['y'])]
    inputs = gqa_decode_inputs(e, h, hkv) + [
        vi('past_key', F32, ['B', hkv, 'P', d]), vi('past_value', F32, ['B', hkv, 'P', d]),
        vi('seqlens_k', I32, ['B']), vi('total_sequence_length', I32, []),
        vi('cos_cache', F32, ['M', d // 2]), vi('sin_cache', F32, ['M', d // 2])]
    outputs = [vi('y', F32, ['B', 1, e]), vi('present_key', F32, ['B', hkv, 'T', d]),
               vi('present_value', F32, ['B', hkv, 'T', d])]
    return helper.make_graph(nodes, f'gqa_past_e{e}_h{h}_kv{hkv}', inputs, outputs)


def rope_nodes(src, out, d):
    """src [B,N,1,D] -> src * rope_cos + rotate_half(src) * rope_sin (halves (x[i], x[i+D/2]))."""
    return [helper.make_node('Slice', [src, 'zero', 'half', 'minus1'], [out + '_x1']),
            helper.make_node('Slice', [src, 'half', 'full', 'minus1'], [out + '_x2']),
            helper.make_node('Neg', [out + '_x2'], [out + '_nx2']),
            helper.make_node('Concat', [out + '_nx2', out + '_x1'], [out + '_rot'], axis=-1),
            helper.make_node('Mul', [src, 'rope_cos'], [out + '_c']),
            helper.make_node('Mul', [out + '_rot', 'rope_sin'], [out + '_s']),
            helper.make_node('Add', [out + '_c', out + '_s'], [out])]


def gqa_plain_graph(e, h, hkv):
    d, g = e // h, h // hkv
    nodes = [const_i64('zero', [0]), const_i64('half', [d // 2]), const_i64('full', [d]),
             const_i64('minus1', [-1]), const_i64('q_heads', [0, 0, h, d]),
             const_i64('kv_heads', [0, 0, hkv, d]), const_i64('grouped', [0, hkv, g, d]),
             const_i64('merged', [0, 1, e]), const_f32('scale', 1.0 / math.sqrt(d))]
    for name, w, heads in (('q', 'wq_t', 'q_heads'), ('k', 'wk_t', 'kv_heads'), ('v', 'wv_t', 'kv_heads')):
        nodes += [helper.make_node('MatMul', ['x', w], [name + '_mm']),
                  helper.make_node('Reshape', [name + '_mm', heads], [name + '_r']),
                  helper.make_node('Transpose', [name + '_r'], [name + '_h'], perm=[0, 2, 1, 3])]
    nodes += rope_nodes('q_h', 'q_rot', d) + rope_nodes('k_h', 'k_rot', d)
    nodes += [helper.make_node('Concat', ['past_key', 'k_rot'], ['keys'], axis=2),      # [B,Hkv,P+1,D]
              helper.make_node('Concat', ['past_value', 'v_h'], ['values'], axis=2),
              helper.make_node('Reshape', ['q_rot', 'grouped'], ['q_g']),            # [B,Hkv,G,D]
              helper.make_node('Transpose', ['keys'], ['keys_t'], perm=[0, 1, 3, 2]),
              helper.make_node('MatMul', ['q_g', 'keys_t'], ['scores_raw']),         # [B,Hkv,G,P+1]
              helper.make_node('Mul', ['scores_raw', 'scale'], ['scores']),
              helper.make_node('Softmax', ['scores'], ['probs'], axis=-1),
              helper.make_node('MatMul', ['probs', 'values'], ['ctx_g']),            # [B,Hkv,G,D]
              helper.make_node('Reshape', ['ctx_g', 'merged'], ['ctx']),
              helper.make_node('MatMul', ['ctx', 'w_out_t'], ['y'])]
    inputs = gqa_decode_inputs(e, h, hkv) + [
        vi('past_key', F32, ['B', hkv, 'P', d]), vi('past_value', F32, ['B', hkv, 'P', d]),
        vi('rope_cos', F32, [1, 1, 1, d]), vi('rope_sin', F32, [1, 1, 1, d])]
    return helper.make_graph(nodes, f'gqa_plain_e{e}_h{h}_kv{hkv}', inputs, [vi('y', F32, ['B', 1, e])])


def gqa_window_graph(e, h, window):
    # onnxruntime's CPU kernel lets query i see the local_window_size keys ending at i (itself
    # included), so a window of `window` keys before the query is local_window_size window + 1.
    nodes = []
    for name, src, w, b in (('q', 'query', 'wq_t', 'bq'), ('k', 'key', 'wk_t', 'bk'),
                            ('v', 'value', 'wv_t', 'bv')):
        nodes += [helper.make_node('MatMul', [src, w], [name + '_mm']),
                  helper.make_node('Add', [name + '_mm', b], [name])]
    nodes.append(helper.make_node('GroupQueryAttention',
                                  ['q', 'k', 'v', '', '', 'seqlens_k', 'total_sequence_length'],
                                  ['ctx', 'present_key', 'present_value'], domain='com.microsoft',
                                  num_heads=h, kv_num_heads=h, local_window_size=window + 1))
    proj_nodes, proj_inputs = out_projection('ctx', e)
    inputs = projection_inputs(e) + [vi('bq', F32, [e]), vi('bk', F32, [e]), vi('bv', F32, [e]),
                                     vi('seqlens_k', I32, ['B']), vi('total_sequence_length', I32, [])]
    return helper.make_graph(nodes + proj_nodes, f'gqa_window_e{e}_h{h}_w{window}',
                             inputs + proj_inputs, [vi('y', F32, ['B', 'L', e])])


def q8_weight(name, k, n, scheme):
    """int8 weight [k, n] ([in, out]), its float scale and int8 zero point (scalar per tensor, [n]
    per column), all external initializers."""
    qdims = [] if scheme == 'tensor' else [n]
    return [external(name, I8, [k, n]), external(name + '_scale', F32, qdims),
            external(name + '_zero_point', I8, qdims)]


def q8_matmul(src, w, out, bias=None):
    return helper.make_node('DynamicQuantizeMatMul',
                            [src, w, w + '_scale', w + '_zero_point'] + ([bias] if bias else []),
                            [out], domain='com.microsoft')


def q8_out_projection(e, scheme):
    """ctx [B,L,E] -> y, the int8 output projection with its bias, and its initializers."""
    return ([q8_matmul('ctx', 'w_out', 'y', 'b_out')],
            q8_weight('w_out', e, e, scheme) + [external('b_out', F32, [e])])


def q8_attention_graph(e, h, mask, scheme):
    attrs = {'num_heads': h, 'unidirectional': 1 if mask == 'causal' else 0}
    nodes = [helper.make_node('DynamicQuantizeLinear', ['x'], ['x_q', 'x_scale', 'x_zero_point']),
             helper.make_node('QAttention',
                              ['x_q', 'w_qkv', 'b_qkv', 'x_scale', 'w_qkv_scale',
                               'mask_index' if mask == 'keypad' else '', 'x_zero_point',
                               'w_qkv_zero_point'],
                              ['ctx'], domain='com.microsoft', **attrs)]
    inits = q8_weight('w_qkv', e, 3 * e, scheme) + [external('b_qkv', F32, [3 * e])]
    inputs = [vi('x', F32, ['B', 'L', e])]
    if mask == 'keypad':
        inputs.append(vi('mask_index', I32, ['B', 'L']))
    proj_nodes, proj_inits = q8_out_projection(e, scheme)
    return helper.make_graph(nodes + proj_nodes, f'q8_attention_{scheme}_e{e}_h{h}_{mask}', inputs,
                             [vi('y', F32, ['B', 'L', e])], initializer=inits + proj_inits)


def q8_mha_graph(e, h, mask, scheme):
    nodes = [q8_matmul('query', 'wq', 'q'), q8_matmul('key', 'wk', 'k'), q8_matmul('value', 'wv', 'v')]
    op_inputs = ['q', 'k', 'v', 'b_qkv'] + (['key_padding_mask'] if mask == 'keypad' else [])
    attrs = {'num_heads': h}
    if mask == 'causal':
        attrs['unidirectional'] = 1
    nodes.append(helper.make_node('MultiHeadAttention', op_inputs, ['ctx'], domain='com.microsoft', **attrs))
    inits = [t for w in ('wq', 'wk', 'wv') for t in q8_weight(w, e, e, scheme)] + [external('b_qkv', F32, [3 * e])]
    inputs = [vi('query', F32, ['B', 'L', e]), vi('key', F32, ['B', 'S', e]), vi('value', F32, ['B', 'S', e])]
    if mask == 'keypad':
        inputs.append(vi('key_padding_mask', I32, ['B', 'S']))
    proj_nodes, proj_inits = q8_out_projection(e, scheme)
    return helper.make_graph(nodes + proj_nodes, f'q8_mha_{scheme}_e{e}_h{h}_{mask}', inputs,
                             [vi('y', F32, ['B', 'L', e])], initializer=inits + proj_inits)


def matmul_graph(batch_dims, name):
    node = helper.make_node('MatMul', ['a', 'b'], ['c'])
    return helper.make_graph([node], name, [vi('a', F32, batch_dims + ['M', 'K']),
                                            vi('b', F32, batch_dims + ['K', 'N'])],
                             [vi('c', F32, batch_dims + ['M', 'N'])])


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'bench', 'models')
    os.makedirs(out_dir, exist_ok=True)
    for e, h, mask in LAYER_CONFIGS:
        save(mha_graph(e, h, mask), out_dir, f'mha_e{e}_h{h}_{mask}.onnx')
        save(attention_graph(e, h, mask), out_dir, f'attention_e{e}_h{h}_{mask}.onnx')
        save(plain_graph(e, h, mask), out_dir, f'plain_e{e}_h{h}_{mask}.onnx')
    for e, h in DECODE_CONFIGS:
        save(sdpa_mha4d_graph(e, h), out_dir, f'sdpa_mha4d_e{e}_h{h}.onnx')
        save(sdpa_mhapast_graph(e, h), out_dir, f'sdpa_mhapast_e{e}_h{h}.onnx')
        save(sdpa_plain_graph(e, h), out_dir, f'sdpa_plain_e{e}_h{h}.onnx')
    for e, h, hkv in GQA_DECODE_CONFIGS:
        save(gqa_past_graph(e, h, hkv), out_dir, f'gqa_past_e{e}_h{h}_kv{hkv}.onnx')
        save(gqa_plain_graph(e, h, hkv), out_dir, f'gqa_plain_e{e}_h{h}_kv{hkv}.onnx')
    for e, h, window in GQA_WINDOW_CONFIGS:
        save(gqa_window_graph(e, h, window), out_dir, f'gqa_window_e{e}_h{h}_w{window}.onnx')
    for e, h, mask, self_attention in INT8_CONFIGS:
        for scheme in INT8_SCHEMES:
            save(q8_mha_graph(e, h, mask, scheme), out_dir, f'q8_mha_{scheme}_e{e}_h{h}_{mask}.onnx')
            if self_attention:
                save(q8_attention_graph(e, h, mask, scheme), out_dir,
                     f'q8_attention_{scheme}_e{e}_h{h}_{mask}.onnx')
    save(matmul_graph([], 'matmul'), out_dir, 'matmul.onnx')
    save(matmul_graph(['B'], 'bmm'), out_dir, 'bmm.onnx')
    print(f'wrote {len(os.listdir(out_dir))} graphs to {out_dir}')


if __name__ == '__main__':
    main()
