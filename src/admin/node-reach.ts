// Which connected nodes a configuration object reaches, judged from the views of their streams. Nodes are grouped
// by view once per request, so judging an object costs one check per distinct view, not one per stream.
import type { ViewSpec } from '../views/node-view.js';
import type { StreamInfo } from '../xds/types.js';
import { compareNames } from './paging.js';
import type { StreamViews } from './stream-views.js';
import { VIEW_NAMES_LIMIT, capText } from './view-limits.js';

export interface NodesReached {
  /** Distinct node ids. */
  count: number;
  /** The first VIEW_NAMES_LIMIT of them in name order, each capped. */
  nodes: string[];
}

interface ViewGroup {
  spec: ViewSpec;
  /** Node ids of the streams in this view, sorted. */
  nodes: string[];
}

export class NodeReach {
  private readonly groups: ViewGroup[] = [];
  /** For each node id seen in more than one view, those views' indexes (so it is counted once). */
  private readonly spread: number[][] = [];

  constructor(streams: readonly StreamInfo[], views: StreamViews) {
    const byView = new Map<string, { spec: ViewSpec; index: number; ids: Set<string> }>();
    const viewsOfNode = new Map<string, Set<number>>();
    for (const stream of streams) {
      // A stream that has not sent its node yet has no view of its own.
      if (!stream.node) continue;
      let group = byView.get(stream.view);
      if (!group) {
        const spec = views.specOf(stream);
        if (!spec) continue;
        group = { spec, index: byView.size, ids: new Set() };
        byView.set(stream.view, group);
      }
      group.ids.add(stream.node.id);
      const seen = viewsOfNode.get(stream.node.id);
      if (seen) seen.add(group.index);
      else viewsOfNode.set(stream.node.id, new Set([group.index]));
    }
    for (const group of byView.values()) this.groups.push({ spec: group.spec, nodes: [...group.ids].sort(compareNames) });
    for (const indexes of viewsOfNode.values()) if (indexes.size > 1) this.spread.push([...indexes]);
  }

  /** The nodes in the views `matches` accepts. */
  reach(matches: (spec: ViewSpec) => boolean): NodesReached {
    const matched = this.groups.map((group) => matches(group.spec));
    let count = 0;
    const shown = new Set<string>();
    this.groups.forEach((group, i) => {
      if (!matched[i]) return;
      count += group.nodes.length;
      for (const id of group.nodes.slice(0, VIEW_NAMES_LIMIT)) shown.add(id);
    });
    for (const indexes of this.spread) {
      const hits = indexes.filter((i) => matched[i]).length;
      if (hits > 1) count -= hits - 1;
    }
    const nodes = [...shown].sort(compareNames).slice(0, VIEW_NAMES_LIMIT).map((id) => capText(id));
    return { count, nodes };
  }
}
