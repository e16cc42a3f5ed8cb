/**
 * The first log of a new cluster. Every founding node writes the same entries (so their logs
 * match), committed at once; a node that joins later receives them like any others and so
 * rebuilds the same membership.
 */
import { type ConfChange, encodeConfChange } from "./conf-change.ts";
import { type Entry, EntryKind, type HardState, type Membership } from "./log-types.ts";

export interface Bootstrap {
  entries: Entry[];
  hardState: HardState;
}

export function bootstrap(initial: Membership): Bootstrap {
  const changes: ConfChange[] = [];
  const addLearner = (id: number) => changes.push({ op: "addLearner", id, address: initial.addresses[id] ?? "" });
  for (const id of [...initial.voters].sort((a, b) => a - b)) {
    addLearner(id);
    changes.push({ op: "promote", id });
  }
  for (const id of [...initial.learners].sort((a, b) => a - b)) addLearner(id);
  const entries = changes.map((cc, i) => ({
    index: i + 1,
    term: 1,
    kind: EntryKind.Config,
    data: encodeConfChange(cc),
  }));
  return { entries, hardState: { term: 1, vote: 0, commit: entries.length } };
}
