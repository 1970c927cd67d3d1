// The provider shape shared by resources that manage one link of one kind (Bridge, Tap): claim the
// name, add the link, mark it ours, bring it to the inputs, read it back; read, update and delete the
// same way. Each resource supplies only what differs: its kind, how to add it, its properties and outputs.
import * as pulumi from "@pulumi/pulumi";
import {
    LinkInputs, LinkSettings, addOwnedLinks, applyLinkSettings, claimLinkNameOfKind, deleteOwnedLink, markLink, readExistingLink,
    readLink,
} from "./link";
import { requireNetns } from "./netns";
import { qualifiedId } from "./owner";
import { LinkState, linkKindOf } from "./parse";
import { Description } from "./properties";
import { RunContext, run } from "./runner";

export interface SingleLinkSpec<Inputs extends LinkInputs, Outputs extends Inputs> {
    /** The type name in errors, e.g. "Bridge". */
    typeName: string;
    /** The kind as linkKindOf reports it; a same-name link of another kind is refused. */
    kind: string;
    /** The command that adds the link. */
    addArgv(name: string): string[];
    /** Runs once right after the link is added or adopted, before the settings are applied. */
    afterAdd?(ctx: RunContext, inputs: Inputs): Promise<void>;
    properties: Description<Inputs, Outputs>;
    /** The settings the inputs ask for. */
    settings(inputs: Inputs): LinkSettings;
    /** The outputs: the inputs with what the kernel reports. */
    outputsOf(inputs: Inputs, link: LinkState): Outputs;
}

export function singleLinkProvider<Inputs extends LinkInputs, Outputs extends Inputs>(
    spec: SingleLinkSpec<Inputs, Outputs>,
): pulumi.dynamic.ResourceProvider {
    const context = (inputs: LinkInputs): RunContext => ({ resource: `${spec.typeName} ${inputs.name}`, netns: inputs.netns });
    // Brings the existing link to the inputs and returns what the kernel then reports.
    const configure = async (ctx: RunContext, inputs: Inputs): Promise<Outputs> => {
        await applyLinkSettings(ctx, inputs.name, spec.settings(inputs), await readExistingLink(ctx, inputs.name));
        return spec.outputsOf(inputs, await readExistingLink(ctx, inputs.name));
    };
    return {
        async check(_olds: Inputs, news: Record<string, unknown>) {
            return spec.properties.check(news);
        },

        async diff(_id: string, olds: Outputs, news: Inputs) {
            return spec.properties.diff(olds, news);
        },

        async create(inputs: Inputs) {
            const ctx = context(inputs);
            requireNetns(ctx.resource, "netns", inputs.netns);
            if (await claimLinkNameOfKind(ctx, inputs.name, spec.kind, inputs.owner, inputs.adopt) === "create") {
                await addOwnedLinks([{ ctx, name: inputs.name }], inputs.owner, () => run(ctx, spec.addArgv(inputs.name)));
            } else {
                await markLink(ctx, inputs.name, inputs.owner);
            }
            await spec.afterAdd?.(ctx, inputs);
            return { id: qualifiedId(inputs.netns, inputs.name), outs: await configure(ctx, inputs) };
        },

        async read(id: string, props: Inputs) {
            const link = await readLink(context(props), props.name);
            if (!link || linkKindOf(link) !== spec.kind) return {};
            return { id, props: spec.outputsOf(props, link) };
        },

        async update(_id: string, _olds: Outputs, news: Inputs) {
            return { outs: await configure(context(news), news) };
        },

        async delete(_id: string, props: Inputs) {
            await deleteOwnedLink(context(props), props.name, props.owner);
        },
    };
}
