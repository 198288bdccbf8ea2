// The labelled series of one metric. Lookups walk one Map per label, keyed by the value itself,
// so finding an existing series allocates nothing (no joined key string); only the first use
// of a label combination creates its series and pre-renders its label text.
import { formatLabelPairs } from "./exposition.ts";

/** One string per label name, in the order the names were declared. */
export type LabelValues<L extends readonly string[]> = { [K in keyof L]: string };

type Node<C> = Map<string, Node<C> | C>;

export class Children<C> {
  readonly #names: readonly string[];
  readonly #create: (pairs: string) => C;
  readonly #root: Node<C> = new Map();
  #all: { pairs: string; child: C }[] = [];
  #single?: C;

  /** `create` receives the series' rendered label pairs, e.g. `method="GET",route="/x"`. */
  constructor(names: readonly string[], create: (pairs: string) => C) {
    this.#names = names;
    this.#create = create;
  }

  get(values: readonly string[]): C {
    const last = this.#names.length - 1;
    if (values.length !== this.#names.length) {
      throw new Error(`expected ${this.#names.length} label values, got ${values.length}`);
    }
    if (last < 0) return this.#single ??= this.#add(values);
    let node = this.#root;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as Node<C> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i], next);
      }
      node = next;
    }
    let child = node.get(values[last]) as C | undefined;
    if (child === undefined) {
      child = this.#add(values);
      node.set(values[last], child);
    }
    return child;
  }

  /** Every series in creation order, for rendering. */
  entries(): readonly { pairs: string; child: C }[] {
    return this.#all;
  }

  /** Forgets every series (a gauge whose collect failed shows no stale values). */
  clear(): void {
    this.#root.clear();
    this.#all = [];
    this.#single = undefined;
  }

  #add(values: readonly string[]): C {
    for (const v of values) {
      if (typeof v !== "string") throw new Error(`label values must be strings, got ${typeof v}`);
    }
    const pairs = formatLabelPairs(this.#names, values);
    const child = this.#create(pairs);
    this.#all.push({ pairs, child });
    return child;
  }
}
