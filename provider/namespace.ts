// Namespace: a persistent network namespace (`ip netns add NAME`) with its loopback up. Ownership is
// marked in the ifalias of its lo, so a namespace left by an interrupted run is recognised as ours and
// a foreign one with our name is refused. Deleting it destroys everything inside (e.g. the inner veth
// end): for our own namespace that is the point.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./dynamic";
import {
    addOwnedLinks, addedByKilledCreate, applyLinkSettings, markLink, readExistingLink, readLink,
} from "./link";
import { netnsExists, netnsPath } from "./netns";
import { ownerMark } from "./owner";
import { ResourceOutputs, describeProperties } from "./properties";
import { RunContext, run } from "./runner";
import { booleanProblem, netnsNameProblem } from "./validate";

export interface NamespaceArgs {
    /** The namespace's name, a file under /var/run/netns. */
    name: pulumi.Input<string>;
    /** Whether its loopback is up; default true. */
    loUp?: pulumi.Input<boolean>;
    /** Take over an existing namespace of this name instead of failing. */
    adopt?: pulumi.Input<boolean>;
}

export interface NamespaceInputs {
    name: string;
    loUp: boolean;
    adopt?: boolean;
    owner: string;
}

export interface NamespaceOutputs extends NamespaceInputs {
    path: string;
}

export const namespaceProperties = describeProperties<NamespaceInputs, NamespaceOutputs>({
    name: { change: "replace", check: netnsNameProblem, required: true },
    loUp: { change: "update", check: booleanProblem, default: true },
    adopt: { check: booleanProblem },
    owner: {},
    path: { output: true },
}, { deleteBeforeReplace: true });

export const checkNamespace = namespaceProperties.check;

function context(inputs: { name: string }): RunContext {
    return { resource: `Namespace ${inputs.name}`, netns: inputs.name };
}

/** Where `ip netns add/del` run: the namespace pulumi runs in, not the one they make or remove. */
function outside(inputs: { name: string }): RunContext {
    return { resource: `Namespace ${inputs.name}` };
}

/**
 * Whether the namespace's file exists with no namespace mounted on it: `ip netns add` creates the file
 * first and mounts the new namespace a moment later, so a kill in between leaves such a file.
 */
function halfMade(name: string): boolean {
    return netnsExists(name) && fs.statSync(netnsPath(name)).dev === fs.statSync(path.dirname(netnsPath(name))).dev;
}

/** The owner mark on the namespace's lo; undefined when there is no namespace (also a half-made one). */
async function readMark(name: string): Promise<string | undefined> {
    if (!netnsExists(name) || halfMade(name)) return undefined;
    return (await readLink(context({ name }), "lo"))?.alias ?? "";
}

async function outputsOf(inputs: NamespaceInputs): Promise<NamespaceOutputs> {
    const lo = await readExistingLink(context(inputs), "lo");
    return { ...inputs, path: netnsPath(inputs.name), loUp: lo.up };
}

export const namespaceProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: NamespaceInputs, news: Record<string, unknown>) {
        return namespaceProperties.check(news);
    },

    async diff(_id: string, olds: NamespaceOutputs, news: NamespaceInputs) {
        return namespaceProperties.diff(olds, news);
    },

    async create(inputs: NamespaceInputs) {
        const ctx = context(inputs);
        const mark = await readMark(inputs.name);
        const ours = mark === ownerMark(inputs.owner) || (mark === "" && addedByKilledCreate(ctx, "lo", inputs.owner));
        if (mark === undefined) {
            if (halfMade(inputs.name)) {
                if (!addedByKilledCreate(ctx, "lo", inputs.owner)) {
                    throw new Error(`${ctx.resource}: ${netnsPath(inputs.name)} exists but holds no namespace, and this ` +
                        "resource did not make it; it was left untouched. Remove it (`ip netns del NAME`) or pick another name.");
                }
                // Our own `ip netns add`, killed before it mounted the namespace: clear the way.
                await run(outside(inputs), ["ip", "netns", "del", inputs.name]);
            }
            // The mark goes on its lo, which `ip netns add` makes: a note covers the moment before it is marked.
            await addOwnedLinks([{ ctx, name: "lo" }], inputs.owner,
                () => run(outside(inputs), ["ip", "netns", "add", inputs.name]));
        } else if (ours || inputs.adopt) {
            await markLink(ctx, "lo", inputs.owner);
        } else {
            throw new Error(`${ctx.resource}: a network namespace named ${inputs.name} already exists` +
                ` (${netnsPath(inputs.name)}) and was not created by this resource; it was left untouched.` +
                " Pick another name, remove it yourself, or set `adopt: true` to manage it.");
        }
        await applyLinkSettings(ctx, "lo", { up: inputs.loUp }, await readExistingLink(ctx, "lo"));
        return { id: inputs.name, outs: await outputsOf(inputs) };
    },

    async read(id: string, props: NamespaceOutputs) {
        if (!netnsExists(props.name) || halfMade(props.name)) return {};
        return { id, props: await outputsOf(props) };
    },

    async update(_id: string, _olds: NamespaceOutputs, news: NamespaceInputs) {
        const ctx = context(news);
        await applyLinkSettings(ctx, "lo", { up: news.loUp }, await readExistingLink(ctx, "lo"));
        return { outs: await outputsOf(news) };
    },

    async delete(_id: string, props: NamespaceOutputs) {
        if (await readMark(props.name) !== ownerMark(props.owner)) return;
        await run(outside(props), ["ip", "netns", "del", props.name]);
    },
};

export interface Namespace extends ResourceOutputs<NamespaceOutputs> {}

/** A persistent network namespace, e.g. the recipe's eXDP that holds the inner veth end. */
export class Namespace extends DynamicResource {
    constructor(name: string, args: NamespaceArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, namespaceProperties.resourceProps(name, args), opts, "Namespace");
    }
}
