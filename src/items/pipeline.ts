/**
 * Aggregation pipeline requests (`POST /items/aggregate-pipeline`; the SDK's
 * `items.aggregate(collectionId, pipeline)` and `aggregatePipeline`): the stages parsed once
 * (src/query/pipeline/parse.ts), paging read as a query's. Paging sits inside `pipeline`; a
 * cursor carries the stages (in a query cursor's `filter` slot), so a follow-up request needs
 * only `pipeline.cursorPaging.cursor`.
 */
import { TRUE, type FilterNode } from '../query/ast.js';
import type { Stage } from '../query/pipeline/ast.js';
import { parseStages } from '../query/pipeline/parse.js';
import { asObject } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import { planQuery, rootPaging, type QueryPlan } from './query.js';
import type { ItemScope } from './scope.js';
import { publishPlugin } from '../collections/model.js';

export interface PipelinePlan {
  /** Paging, and the raw stages the cursors carry. */
  readonly plan: QueryPlan;
  /** The leading filter stages, which select the items (an index can serve them there). */
  readonly leading: FilterNode;
  /** The stages after them. */
  readonly stages: readonly Stage[];
}

export function planPipeline(p: JsonObject, scope: ItemScope): PipelinePlan {
  const pipeline = p.pipeline === undefined || p.pipeline === null ? {} : asObject(p.pipeline, 'pipeline');
  const { query, resumes } = rootPaging(pipeline);
  if (!resumes) query.filter = pipeline.stages ?? null;
  const plan = planQuery(query, p.returnTotalCount, scope, 'pipeline');
  const stages = parseStages(plan.raw.filter);
  const leading: FilterNode[] = [];
  let i = 0;
  // In a collection with the Publish plugin a filter may name `_publishStatus`, which the
  // documents show but the items' data does not hold: there every filter reads documents.
  if (!publishPlugin(scope.collection)) for (let s = stages[i]; s?.kind === 'filter'; s = stages[++i]) leading.push(s.filter);
  const filter: FilterNode = leading.length === 0 ? TRUE : leading.length === 1 ? (leading[0] as FilterNode) : { kind: 'and', children: leading };
  return { plan, leading: filter, stages: stages.slice(i) };
}
