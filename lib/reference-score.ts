// The reference's reading of the backend contract's ScoreRule (backend.ts): the logit of one
// score, and the softmax of a row of logits, in float64.
import type { ScoreRule } from './backend.js';
import { maskBias, type MaskSet } from './masks.js';

/** Where a score sits: batch entry b (masks), head h, query i of a sequence of l queries and
 * key j of its s keys. Positions: pq = i + (s - l), pk = j. */
export interface ScorePlace { b: number; h: number; i: number; j: number; l: number; s: number }

/** Whether the rule's causal or window blocks key position pk for query position pq. */
function ruleBlocks(rule: ScoreRule, pq: number, pk: number): boolean {
  if (rule.causal && pk > pq) return true;
  if (rule.windowLeft >= 0 && pk < pq - rule.windowLeft) return true;
  return rule.windowRight >= 0 && pk > pq + rule.windowRight;
}

/** The logit of score x (q . k) in the rule's order: scale, softcap, ALiBi, additive masks;
 * -Infinity when any block applies. */
export function logit(rule: ScoreRule, masks: MaskSet, x: number, at: ScorePlace): number {
  const pq = at.i + (at.s - at.l);
  const pk = at.j;
  if (ruleBlocks(rule, pq, pk)) return -Infinity;
  const bias = maskBias(masks, at.b, at.h, at.i, at.j);
  if (bias === -Infinity) return -Infinity;
  let score = rule.scale * x;
  if (rule.softcap > 0) score = rule.softcap * Math.tanh(score / rule.softcap);
  if (rule.alibiSlopes) score -= rule.alibiSlopes[at.h] * Math.abs(pq - pk);
  return score + bias;
}

/** Softmax of one row in place; -Infinity entries are blocked (0); a fully blocked row is all zeros. */
export function softmaxInPlace(row: Float64Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  if (max === -Infinity) {
    row.fill(0);
    return;
  }
  let sum = 0;
  for (let j = 0; j < row.length; j++) {
    row[j] = Math.exp(row[j] - max);
    sum += row[j];
  }
  for (let j = 0; j < row.length; j++) row[j] /= sum;
}
