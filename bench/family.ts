// The IP version a benchmark row is measured over, and the order that puts each IPv6 row right
// under its IPv4 twin (same label) in the tables.

export type Family = 4 | 6;

/** A path's or a row's family: 4 unless it says 6. */
export const rowFamily = (row: { family?: Family }): Family => row.family ?? 4;

export const familyName = (row: { family?: Family }): string => `IPv${rowFamily(row)}`;

/** What identifies a row: its label and family. */
export interface FamilyRow {
    label: string;
    family?: Family;
}

/**
 * Rows in table order: each IPv4 row in its order, followed by the IPv6 rows with the same label;
 * IPv6 rows without an IPv4 twin come last, in their order.
 */
export function pairedByFamily<T>(rows: T[], key: (row: T) => FamilyRow): T[] {
    const ipv6 = rows.filter((row) => rowFamily(key(row)) === 6);
    const twins = (row: T) => ipv6.filter((other) => key(other).label === key(row).label);
    const paired = rows.filter((row) => rowFamily(key(row)) === 4).flatMap((row) => [row, ...twins(row)]);
    return [...paired, ...ipv6.filter((row) => !paired.includes(row))];
}

/** The rows of one family, in their order. */
export function ofFamily<T extends { family?: Family }>(rows: T[], family: Family): T[] {
    return rows.filter((row) => rowFamily(row) === family);
}
