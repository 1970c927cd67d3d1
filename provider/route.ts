// Route: one IPv4 or IPv6 route with a gateway in a namespace, e.g. the inner namespace's
// `ip route add default via 10.0.0.1` (the gateway's family is the route's). A route has no alias or
// comment to carry an owner mark. Ours carry egress-xdp's route protocol number (`proto 77`), which
// every egress-xdp route shares, and a route note (provider/notes.ts) keyed by the namespace's inode,
// the destination, the metric and the family names the one resource that owns it: written before the
// add, kept while the route exists, removed by delete. A route for the destination and metric is this
// resource's own only when the note names its owner (e.g. left by an interrupted create), and is then
// taken back; any other existing route, a look-alike of another stack or of the host included, is
// never taken over unless the user adopts an identical one, and delete leaves it alone.
//
// The kernel deletes a route with the device it goes through or the address that puts the gateway
// on-link. So the inputs carry both: the device by name and identity (`devIfindex`, e.g. a VethPair's
// `peerIfindex`, new whenever the pair is re-created) and `onLinkAddress`; a change of either makes
// the engine update (re-add) the route in the same `up`.
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { netnsInode } from "./ledger";
import { netnsExists } from "./netns";
import { NoteKey, forgetNotes, readNote, removeNote, writeNote } from "./notes";
import { qualifiedId } from "./owner";
import { RouteState, parseRoutes } from "./parse";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import {
    CheckFailure, IpFamily, booleanProblem, familyOf, ifindexProblem, interfaceAddressProblem, interfaceNameProblem,
    ipAddressProblem, isUnknown, netnsNameProblem, networkPrefixProblem,
} from "./validate";

export interface RouteArgs {
    /** The namespace whose main table gets the route; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** "default" or a prefix like 192.0.2.0/24 or 2001:db8::/32, of the gateway's family. */
    destination: pulumi.Input<string>;
    /** The gateway (IPv4 or IPv6), on-link on some interface of the namespace. */
    via: pulumi.Input<string>;
    /** The interface to the gateway; default: the one the kernel picks for `via`. */
    dev?: pulumi.Input<string>;
    /** The ifindex of `dev` (e.g. a VethPair's peerIfindex): a re-created device re-adds the route. */
    devIfindex?: pulumi.Input<number>;
    /**
     * The address with prefix on `dev` that puts `via` on-link (e.g. 10.0.0.2/24 or fd00::2/64, of the
     * gateway's family): a change re-adds the route.
     */
    onLinkAddress?: pulumi.Input<string>;
    /** Default: the kernel's, 0 for IPv4 and 1024 for IPv6. */
    metric?: pulumi.Input<number>;
    /** Manage an existing, identical route instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface RouteInputs {
    netns?: string;
    destination: string;
    via: string;
    dev?: string;
    devIfindex?: number;
    onLinkAddress?: string;
    metric?: number;
    adopt?: boolean;
    owner: string;
}

export interface RouteOutputs extends RouteInputs {
    /** The interface the kernel uses for the route. */
    dev: string;
}

export function routeDestinationProblem(destination: unknown): string | undefined {
    return destination === "default" ? undefined : networkPrefixProblem(destination);
}

/** A route's family is its gateway's. */
function familyOfRoute(route: { via: string }): IpFamily {
    return familyOf(route.via);
}

/** The metric the kernel gives the route: the kernel turns an IPv6 metric 0 into 1024. */
function metricOf(route: { via: string; metric?: number }): number {
    return route.metric ?? (familyOfRoute(route) === 6 ? 1024 : 0);
}

export function metricProblem(metric: unknown): string | undefined {
    return typeof metric === "number" && Number.isInteger(metric) && metric >= 0 && metric <= 0xffffffff
        ? undefined : "must be a whole number from 0 to 4294967295";
}

/** The destination as `ip -json route` prints it: "default" for /0, a bare address for /32. */
export function kernelDestination(destination: string): string {
    if (destination === "0.0.0.0/0" || destination === "::/0") return "default";
    const hostLength = familyOf(destination) === 6 ? "/128" : "/32";
    return destination.endsWith(hostLength) ? destination.slice(0, -hostLength.length) : destination;
}

/** Whether a kernel route is the one described (the device only counts when given). */
export function routeMatches(route: RouteState, want: { destination: string; via: string; dev?: string }): boolean {
    return route.dst === kernelDestination(want.destination) && route.gateway === want.via &&
        (want.dev === undefined || route.dev === want.dev);
}

export function describeRoute(route: RouteState): string {
    return [route.dst, route.gateway && `via ${route.gateway}`, route.dev && `dev ${route.dev}`].filter(Boolean).join(" ");
}

function context(inputs: RouteInputs): RunContext {
    return { resource: `Route ${routeId(inputs)}`, netns: inputs.netns };
}

function routeId(inputs: RouteInputs): string {
    const metric = inputs.metric ? ` metric ${inputs.metric}` : "";
    // "default" is both families' destination: an IPv6 route says so, so the two default routes differ.
    const family = familyOfRoute(inputs) === 6 ? " ipv6" : "";
    return qualifiedId(inputs.netns, `${inputs.destination}${metric}${family}`);
}

/**
 * The route protocol (rtm_protocol) egress-xdp's routes carry, its owner mark: unassigned in
 * /etc/iproute2/rt_protos and the kernel's RTPROT_* list, so `ip route` shows it as `proto 77`.
 */
export const routeProtocol = 77;

/**
 * `ip route VERB ...` for the route, with our protocol; metric 0 is spelled out so del never removes
 * a route of another metric, and the protocol makes del remove only a route of ours.
 */
function routeCommand(verb: "add" | "replace" | "del", route: RouteInputs): string[] {
    return ["ip", `-${familyOfRoute(route)}`, "route", verb, route.destination, "via", route.via,
        ...(route.dev ? ["dev", route.dev] : []), "metric", String(metricOf(route)), "proto", String(routeProtocol)];
}

/**
 * The note naming the owner of the route for this destination, metric and family in this namespace
 * (by inode); both families' default routes are "default", so an IPv6 route's note says ipv6.
 */
export function routeNote(inputs: Pick<RouteInputs, "netns" | "destination" | "via" | "metric">): NoteKey {
    const destination = inputs.destination.replace("/", "_");
    const family = familyOfRoute(inputs) === 6 ? ".ipv6" : "";
    return { kind: "route", netns: inputs.netns, name: `${netnsInode(inputs.netns)}.${destination}.${inputs.metric ?? 0}${family}` };
}

/** Whether the route for the destination and metric is this resource's: its note names our owner. */
function noteIsOurs(inputs: RouteInputs): boolean {
    return netnsExists(inputs.netns) && readNote(routeNote(inputs))?.owner === inputs.owner;
}

/** Drops the route notes a namespace that is gone left (its routes went with it, whatever its inode was). */
function forgetRouteNotes(netns: string | undefined): void {
    if (netns !== undefined && !netnsExists(netns)) forgetNotes("route", netns, /^\d+\.(default|[\d.]+_\d+|[\da-f:]+_\d+)\.\d+(\.ipv6)?\.json$/);
}

/** The routes for the destination and metric (`ours`: only those with our protocol); none when the namespace is gone. */
async function readRoutes(ctx: RunContext, inputs: RouteInputs, ours = false): Promise<RouteState[]> {
    if (!netnsExists(inputs.netns)) return [];
    const show = ["ip", `-${familyOfRoute(inputs)}`, "-json", "route", "show", inputs.destination, "metric", String(metricOf(inputs)),
        ...(ours ? ["proto", String(routeProtocol)] : [])];
    return parseRoutes((await run(ctx, show)).stdout);
}

async function readBack(ctx: RunContext, inputs: RouteInputs): Promise<RouteOutputs> {
    const route = (await readRoutes(ctx, inputs)).find((r) => routeMatches(r, inputs));
    if (!route) {
        throw new Error(`${ctx.resource}: the route vanished right after it was configured; run \`pulumi up\` again`);
    }
    return { ...inputs, dev: route.dev ?? "" };
}

// A route is found by namespace, destination and metric: a new one of those is another route.
export const routeProperties = describeProperties<RouteInputs, RouteOutputs>({
    netns: { change: "replace", check: netnsNameProblem },
    destination: { change: "replace", check: routeDestinationProblem, required: true },
    via: { change: "update", check: ipAddressProblem, required: true },
    dev: { change: "update", check: interfaceNameProblem, observed: true },
    // The kernel deletes the route with its device or the address that puts the gateway on-link: a new one re-adds it.
    devIfindex: { change: "update", check: ifindexProblem },
    onLinkAddress: { change: "update", check: interfaceAddressProblem },
    metric: { change: "replace", check: metricProblem },
    adopt: { check: booleanProblem },
    owner: {},
});

/** The properties' checks, then destination, on-link address and metric against the gateway's family. */
export function checkRoute(news: Record<string, unknown>): { inputs: RouteInputs; failures: CheckFailure[] } {
    const { inputs, failures } = routeProperties.check(news);
    const { destination, via, metric, onLinkAddress } = news;
    if (typeof via === "string" && !isUnknown(via) && failures.length === 0) {
        if (typeof destination === "string" && destination !== "default" && !isUnknown(destination) &&
            familyOf(destination) !== familyOf(via)) {
            failures.push({ property: "destination", reason: `${destination} and the gateway ${via} are of different families` });
        }
        if (typeof onLinkAddress === "string" && !isUnknown(onLinkAddress) && familyOf(onLinkAddress) !== familyOf(via)) {
            failures.push({ property: "onLinkAddress", reason: `${onLinkAddress} and the gateway ${via} are of different families` });
        }
        if (familyOf(via) === 6 && metric === 0) {
            const reason = "the kernel turns an IPv6 route's metric 0 into 1024: leave metric unset or use another";
            failures.push({ property: "metric", reason });
        }
    }
    return { inputs, failures };
}

export const routeProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: RouteInputs, news: Record<string, unknown>) {
        return checkRoute(news);
    },

    async diff(_id: string, olds: RouteOutputs, news: RouteInputs) {
        return routeProperties.diff(olds, news);
    },

    async create(inputs: RouteInputs) {
        const ctx = context(inputs);
        const existing = await readRoutes(ctx, inputs);
        const ours = existing.length > 0 && noteIsOurs(inputs) && (await readRoutes(ctx, inputs, true)).length > 0;
        const adoptable = !!inputs.adopt && existing.some((r) => routeMatches(r, inputs));
        if (existing.length > 0 && !ours && !adoptable) {
            const owner = readNote(routeNote(inputs))?.owner;
            throw new Error(`${ctx.resource}: a route for this destination and metric already exists ` +
                `(${existing.map(describeRoute).join("; ")}) that is not this resource's` +
                `${owner ? ` (egress-xdp resource ${owner} made it)` : ""}; it was left untouched. Remove it yourself, ` +
                "use another metric, or, if it is exactly the route you declare, set `adopt: true`.");
        }
        // The note first: a create killed after the add still knows the route as its own.
        writeNote(routeNote(inputs), { owner: inputs.owner });
        // Ours (e.g. left by an interrupted create) or adopted: replace sets our gateway and protocol.
        await run(ctx, routeCommand(existing.length === 0 ? "add" : "replace", inputs));
        return { id: routeId(inputs), outs: await readBack(ctx, inputs) };
    },

    async read(id: string, props: RouteOutputs) {
        // A version before route notes left our route with our protocol and no note at all: the state
        // that records it is its owner's, so the note is written now (a note of another owner stays).
        if (netnsExists(props.netns) && readNote(routeNote(props)) === undefined &&
            (await readRoutes(context(props), props, true)).some((r) => routeMatches(r, props))) {
            writeNote(routeNote(props), { owner: props.owner });
        }
        const routes = noteIsOurs(props) ? await readRoutes(context(props), props) : [];
        const route = routes.find((r) => routeMatches(r, props)) ?? routes[0];
        if (!route) {
            // Gone (with its device, address or namespace, or by hand): a note of ours would only mislead a later create.
            if (noteIsOurs(props)) removeNote(routeNote(props));
            forgetRouteNotes(props.netns);
            return {};
        }
        return { id, props: { ...props, via: route.gateway ?? "", dev: route.dev ?? "" } };
    },

    async update(_id: string, _olds: RouteOutputs, news: RouteInputs) {
        const ctx = context(news);
        if (!noteIsOurs(news) && (await readRoutes(ctx, news)).length > 0) {
            throw new Error(`${ctx.resource}: the route for this destination and metric is no longer this resource's ` +
                "(another resource or someone else made it since); it was left untouched. Run `pulumi refresh`, then " +
                "`pulumi up` (which refuses it with the details), or remove it yourself.");
        }
        writeNote(routeNote(news), { owner: news.owner });
        await run(ctx, routeCommand("replace", news));
        return { outs: await readBack(ctx, news) };
    },

    async delete(_id: string, props: RouteOutputs) {
        const ctx = context(props);
        forgetRouteNotes(props.netns);
        if (!noteIsOurs(props)) return;
        if ((await readRoutes(ctx, props, true)).some((r) => routeMatches(r, props))) await run(ctx, routeCommand("del", props));
        removeNote(routeNote(props));
    },
};

export interface Route extends ResourceOutputs<RouteOutputs> {}

/** An IPv4 or IPv6 route via a gateway, e.g. the inner namespace's default route via the bridge address. */
export class Route extends DynamicResource {
    constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, routeProperties.resourceProps(name, args), opts, "Route");
    }
}
