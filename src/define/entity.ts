// entity(): the thing features describe (a user, an account). Features are keyed by its id.
export interface EntityDef {
  readonly kind: "entity";
  name: string | undefined;
  readonly description: string | undefined;
}

export function entity(name?: string, options: { description?: string } = {}): EntityDef {
  return { kind: "entity", name, description: options.description };
}
