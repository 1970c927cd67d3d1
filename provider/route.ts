// Route: one IPv4 route with a gateway in a namespace, e.g. the inner namespace's
// `ip route add default via 10.0.0.1`. A route has no alias or comment to carry an owner mark; ours
// carry egress-xdp's route protocol number instead (`proto 77`). A route for the same destination and
// metric in the namespace with that protocol is this resource's own (two Routes cannot hold one
// destination and metric in one namespace), e.g. left by an interrupted create, and is taken back;
// any other existing route is never taken over unless the user adopts an identical one (it then gets
// our protocol). Delete removes a route only while it still matches ours (destination, gateway,
// device, protocol).
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import { netnsExists } from "./netns";
import { qualifiedId } from "./owner";
import { RouteState, parseRoutes } from "./parse";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import { booleanProblem, interfaceNameProblem, ipv4Problem, netnsNameProblem, networkCidrProblem } from "./validate";

export interface RouteArgs {
    /** The namespace whose main table gets the route; default: the one `pulumi` runs in. */
    netns?: pulumi.Input<string>;
    /** "default" or an IPv4 prefix like 192.0.2.0/24. */
    destination: pulumi.Input<string>;
    /** The IPv4 gateway, on-link on some interface of the namespace. */
    via: pulumi.Input<string>;
    /** The interface to the gateway; default: the one the kernel picks for `via`. */
    dev?: pulumi.Input<string>;
    /** Default 0 (the kernel's default). */
    metric?: pulumi.Input<number>;
    /** Manage an existing, identical route instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface RouteInputs {
    netns?: string;
    destination: string;
    via: string;
    dev?: string;
    metric?: number;
    adopt?: boolean;
    owner: string;
}

export interface RouteOutputs extends RouteInputs {
    /** The interface the kernel uses for the route. */
    dev: string;
}

export function routeDestinationProblem(destination: unknown): string | undefined {
    return destination === "default" ? undefined : networkCidrProblem(destination);
}

export function metricProblem(metric: unknown): string | undefined {
    return typeof metric === "number" && Number.isInteger(metric) && metric >= 0 && metric <= 0xffffffff
        ? undefined : "must be a whole number from 0 to 4294967295";
}

/** The destination as `ip -json route` prints it: "default" for /0, a bare address for /32. */
export function kernelDestination(destination: string): string {
    if (destination === "0.0.0.0/0") return "default";
    return destination.endsWith("/32") ? destination.slice(0, -3) : destination;
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
    return qualifiedId(inputs.netns, `${inputs.destination}${metric}`);
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
    return ["ip", "route", verb, route.destination, "via", route.via, ...(route.dev ? ["dev", route.dev] : []),
        "metric", String(route.metric ?? 0), "proto", String(routeProtocol)];
}

/** The routes for the destination and metric (`ours`: only those with our protocol); none when the namespace is gone. */
async function readRoutes(ctx: RunContext, inputs: RouteInputs, ours = false): Promise<RouteState[]> {
    if (!netnsExists(inputs.netns)) return [];
    const show = ["ip", "-json", "route", "show", inputs.destination, "metric", String(inputs.metric ?? 0),
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
    via: { change: "update", check: ipv4Problem, required: true },
    dev: { change: "update", check: interfaceNameProblem, observed: true },
    metric: { change: "replace", check: metricProblem },
    adopt: { check: booleanProblem },
    owner: {},
});

export const checkRoute = routeProperties.check;

export const routeProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: RouteInputs, news: Record<string, unknown>) {
        return routeProperties.check(news);
    },

    async diff(_id: string, olds: RouteOutputs, news: RouteInputs) {
        return routeProperties.diff(olds, news);
    },

    async create(inputs: RouteInputs) {
        const ctx = context(inputs);
        const existing = await readRoutes(ctx, inputs);
        const ours = existing.length > 0 && (await readRoutes(ctx, inputs, true)).length > 0;
        const adoptable = !!inputs.adopt && existing.some((r) => routeMatches(r, inputs));
        if (existing.length === 0) {
            await run(ctx, routeCommand("add", inputs));
        } else if (ours || adoptable) {
            // Ours (e.g. left by an interrupted create) or adopted: replace sets our gateway and protocol.
            await run(ctx, routeCommand("replace", inputs));
        } else {
            throw new Error(`${ctx.resource}: a route for this destination and metric already exists ` +
                `(${existing.map(describeRoute).join("; ")}) without egress-xdp's protocol ${routeProtocol}; it was ` +
                "left untouched. Remove it yourself, use another metric, or, if it is exactly the route you declare, " +
                "set `adopt: true`.");
        }
        return { id: routeId(inputs), outs: await readBack(ctx, inputs) };
    },

    async read(id: string, props: RouteOutputs) {
        const routes = await readRoutes(context(props), props);
        const route = routes.find((r) => routeMatches(r, props)) ?? routes[0];
        if (!route) return {};
        return { id, props: { ...props, via: route.gateway ?? "", dev: route.dev ?? "" } };
    },

    async update(_id: string, _olds: RouteOutputs, news: RouteInputs) {
        const ctx = context(news);
        await run(ctx, routeCommand("replace", news));
        return { outs: await readBack(ctx, news) };
    },

    async delete(_id: string, props: RouteOutputs) {
        const ctx = context(props);
        if ((await readRoutes(ctx, props, true)).some((r) => routeMatches(r, props))) await run(ctx, routeCommand("del", props));
    },
};

export interface Route extends ResourceOutputs<RouteOutputs> {}

/** An IPv4 route via a gateway, e.g. the inner namespace's default route via the bridge address. */
export class Route extends DynamicResource {
    constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, routeProperties.resourceProps(name, args), opts, "Route");
    }
}
