import type { Clause, Condition, UpdatePlan } from './write-plan.js';

/**
 * A plan's condition and update as DynamoDB expressions. Every attribute goes through a name
 * placeholder (several, like `name`, are reserved words) and every value through a value
 * placeholder; an undefined value is left for the marshalling to drop (TableCalls, with
 * removeUndefinedValues), so DynamoDB refuses the request (ValidationException) instead of
 * evaluating the condition.
 */
export class ExpressionParts {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private count = 0;

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.count++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  condition(condition: Condition): string {
    return condition.all.map((clause) => this.clause(clause)).join(' AND ');
  }

  update(plan: UpdatePlan): string {
    const sets = Object.entries(plan.set).map(
      ([attribute, value]) => `${this.name(attribute)} = ${this.value(value)}`,
    );
    if (plan.increment !== undefined) {
      const counter = this.name(plan.increment);
      sets.push(`${counter} = ${counter} + ${this.value(1)}`);
    }
    const removes = (plan.remove ?? []).map((attribute) => this.name(attribute));
    return `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
  }

  /** The placeholders a request carries; DynamoDB refuses an empty map. */
  placeholders(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 && { ExpressionAttributeNames: this.names }),
      ...(Object.keys(this.values).length > 0 && { ExpressionAttributeValues: this.values }),
    };
  }

  private clause(clause: Clause): string {
    if ('exists' in clause) return `attribute_exists(${this.name(clause.exists)})`;
    if ('missing' in clause) return `attribute_not_exists(${this.name(clause.missing)})`;
    if ('anyOf' in clause) return `(${clause.anyOf.map((c) => this.clause(c)).join(' OR ')})`;
    return `${this.name(clause.attribute)} ${clause.is} ${this.value(clause.value)}`;
  }
}
