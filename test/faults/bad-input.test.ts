// Issue 5, bad input: malformed stack configs must be refused by `pulumi preview` with a message that
// names the key (egress-xdp:<key>), before anything is changed; running without root is refused too.
// Previews change nothing, so one lab serves them all (its snapshot must not move), run by a few
// stacks at once.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { run } from "../../provider/runner";
import { BuiltObjects, useBuiltObjects } from "../helpers/bpf-build";
import { Engine, newEngine, projectRoot } from "../../lab/engine";
import { useFigures } from "../helpers/figures";
import { useLab } from "../helpers/kernel-suite";
import { Lab } from "../helpers/lab";
import { StackConfig, labStackConfig, replaceStackConfig } from "../../lab/stack";

interface BadInput {
    name: string;
    /** The key the refusal must name. */
    key: string;
    /** How the refusal names it, when not as egress-xdp:<key> (Pulumi's own check of required keys). */
    naming?: RegExp;
    /** Keys to set (a value) or unset (null) on top of a good config. */
    config(lab: Lab, built: BuiltObjects): Record<string, string | string[] | null>;
}

const set = (values: Record<string, string | string[] | null>) => () => values;

const ipv6Pair = { outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2/64" };

const badInputs: BadInput[] = [
    // Names: length, characters a shell or iproute2 would read as syntax, the same name twice.
    { name: "bridge name of 16 characters", key: "bridge", config: set({ bridge: "br_0123456789abc" }) },
    { name: "bridge name with shell syntax", key: "bridge", config: set({ bridge: "br;rm -rf /" }) },
    { name: "tap name with command substitution", key: "tap", config: set({ tap: "$(reboot)" }) },
    { name: "outer veth name with a space", key: "vethOuter", config: set({ vethOuter: "veth 1a" }) },
    { name: "inner veth name with a slash", key: "vethInner", config: set({ vethInner: "veth/1b" }) },
    { name: "inner veth name with a newline", key: "vethInner", config: set({ vethInner: "veth_1b\nup" }) },
    { name: "namespace name that climbs out of /var/run/netns", key: "namespace", config: set({ namespace: "../etc" }) },
    { name: "namespace name with backquotes", key: "namespace", config: set({ namespace: "ns`id`" }) },
    { name: "namespace name starting with '-'", key: "namespace", config: set({ namespace: "-n" }) },
    { name: "hostNetns with a pipe", key: "hostNetns", config: set({ hostNetns: "lab|host" }) },
    { name: "sendDev with '&&'", key: "sendDev", config: set({ sendDev: "eth0&&reboot" }) },
    { name: "tap named like the bridge", key: "tap", config: set({ tap: "br_1" }) },
    { name: "outer veth named like the uplink", key: "vethOuter", config: set({ vethOuter: "uplink0" }) },
    { name: "namespace named like hostNetns", key: "namespace", config: (lab) => ({ namespace: lab.host }) },
    // Addresses.
    { name: "outerAddress without a prefix", key: "outerAddress", config: set({ outerAddress: "10.0.0.1" }) },
    { name: "outerAddress with an octet of 256", key: "outerAddress", config: set({ outerAddress: "10.0.0.256/24" }) },
    { name: "outerAddress that is the network address", key: "outerAddress", config: set({ outerAddress: "10.0.0.0/24" }) },
    { name: "outerAddress that is the broadcast address", key: "outerAddress", config: set({ outerAddress: "10.0.0.255/24" }) },
    { name: "outerAddress with a /31 prefix", key: "outerAddress", config: set({ outerAddress: "10.0.0.1/31" }) },
    { name: "innerAddress with a leading zero", key: "innerAddress", config: set({ innerAddress: "010.0.0.2/24" }) },
    { name: "innerAddress in another subnet", key: "innerAddress", config: set({ innerAddress: "10.0.1.2/24" }) },
    { name: "innerAddress with another prefix length", key: "innerAddress", config: set({ innerAddress: "10.0.0.2/16" }) },
    { name: "innerAddress equal to outerAddress", key: "innerAddress", config: set({ innerAddress: "10.0.0.1/24" }) },
    { name: "drop prefix with host bits", key: "dropPrefixes", config: set({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["198.19.1.1/24"] }) },
    { name: "drop prefix that is no CIDR", key: "dropPrefixes", config: set({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["any"] }) },
    // IPv6 addresses: strict parsing, the kernel's form, one subnet, both or neither.
    { name: "outerAddress6 with two '::'", key: "outerAddress6", config: set({ outerAddress6: "fd00::e0::1/64", innerAddress6: "fd00:e0::2/64" }) },
    { name: "outerAddress6 that is IPv4", key: "outerAddress6", config: set({ outerAddress6: "10.0.0.1/24", innerAddress6: "fd00:e0::2/64" }) },
    { name: "outerAddress6 in upper case", key: "outerAddress6", config: set({ outerAddress6: "FD00:E0::1/64", innerAddress6: "fd00:e0::2/64" }) },
    { name: "outerAddress6 that is link-local", key: "outerAddress6", config: set({ outerAddress6: "fe80::1/64", innerAddress6: "fd00:e0::2/64" }) },
    { name: "innerAddress6 without a prefix", key: "innerAddress6", config: set({ outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2" }) },
    { name: "innerAddress6 with a zone index", key: "innerAddress6", config: set({ outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e0::2%eth0/64" }) },
    { name: "innerAddress6 in another subnet", key: "innerAddress6", config: set({ outerAddress6: "fd00:e0::1/64", innerAddress6: "fd00:e1::2/64" }) },
    { name: "innerAddress6 without outerAddress6", key: "outerAddress6", config: set({ innerAddress6: "fd00:e0::2/64" }) },
    { name: "IPv6 drop prefix with host bits", key: "dropPrefixes", config: set({ xdpProgram: "bpf/xdp_droplist.c", dropPrefixes: ["2001:db8:0:3::1/64"] }) },
    { name: "IPv6 drop prefix for a program without the IPv6 map", key: "dropPrefixes", config: set({ dropPrefixes: ["2001:db8:0:3::/64"] }) },
    // Devices and namespaces that are missing.
    // Pulumi.yaml gives sendDev no default: Pulumi itself refuses the stack before the program runs.
    { name: "sendDev unset", key: "sendDev", naming: /missing configuration value 'sendDev'/, config: set({ sendDev: null }) },
    { name: "sendDev that does not exist", key: "sendDev", config: set({ sendDev: "nosuch0" }) },
    { name: "hostNetns that does not exist", key: "hostNetns", config: (lab) => ({ hostNetns: lab.netnsName("nosuch") }) },
    // Unset hostNetns means the namespace pulumi runs in (here the root one), which has no uplink0.
    { name: "hostNetns unset, so sendDev is looked for in pulumi's own namespace", key: "sendDev", config: set({ hostNetns: null }) },
    // The XDP program.
    { name: "xdpProgram that does not exist", key: "xdpProgram", config: set({ xdpProgram: "bpf/missing.c" }) },
    { name: "xdpProgram that is neither .c nor .o", key: "xdpProgram", config: set({ xdpProgram: "README.md" }) },
    { name: "xdpSection not in the C source", key: "xdpSection", config: set({ xdpSection: "xdp_nosuch" }) },
    { name: "xdpSection with shell syntax", key: "xdpSection", config: set({ xdpSection: "xdp; reboot" }) },
    {
        name: "xdpSection not in the object file", key: "xdpSection",
        config: (_lab, built) => ({ xdpProgram: built.path("xdp_stats"), xdpSection: "tc" }),
    },
    { name: "xdpMode that does not exist", key: "xdpMode", config: set({ xdpMode: "turbo" }) },
    { name: "forwardAccept that is no choice", key: "forwardAccept", config: set({ forwardAccept: "sometimes" }) },
    { name: "ipv6Forwarding that is no method", key: "ipv6Forwarding", config: set({ ...ipv6Pair, ipv6Forwarding: "all" }) },
    { name: "dropPrefixes for a program without a drop-list", key: "dropPrefixes", config: set({ dropPrefixes: ["198.19.1.0/24"] }) },
];

/** The good config a case starts from, with the case's keys set or removed. */
function configOf(lab: Lab, built: BuiltObjects, badInput: BadInput): StackConfig {
    const config: Record<string, string | string[] | null> = { ...labStackConfig(lab, "bad"), ...badInput.config(lab, built) };
    return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== null)) as StackConfig;
}

/** The preview's failure output, or undefined when it succeeded. */
async function previewFailure(engine: Engine, wrap: string[] = [], env: Record<string, string> = {}): Promise<string | undefined> {
    const { argv, cwd } = engine.command(["preview"]);
    const result = await run({ resource: "bad-input preview" }, [...wrap, ...argv],
        { allowFailure: true, cwd, env: { ...engine.command([]).env, ...env } });
    return result.exitCode === 0 ? undefined : `${result.stdout}\n${result.stderr}`;
}

describe("Bad input: malformed configs refused at preview, naming the key (faults)", function () {
    this.timeout(600000);
    const built = useBuiltObjects(["xdp_stats"]);
    const engines: Engine[] = [];
    const scratch: string[] = [];
    afterEach(function () {
        for (const engine of engines.splice(0)) engine.dispose();
        for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
    });
    const lab = useLab();
    const measured = useFigures("badInput", "refused");

    it(`refuses ${badInputs.length} malformed configs at preview, each naming its key, and changes nothing`, async function () {
        const queue = [...badInputs];
        // Every case that failed, whatever threw: a refusal without its key, or a setup that broke.
        const failed: string[] = [];
        // Three stacks preview at once: most of a preview is starting node, which two cores overlap well.
        await Promise.all([1, 2, 3].map(async (worker) => {
            const engine = await newEngine(projectRoot, `bad${worker}-${lab().id}`);
            engines.push(engine);
            for (let badInput = queue.shift(); badInput; badInput = queue.shift()) {
                const current = badInput;
                await measured(current.name, async (notes) => {
                    replaceStackConfig(engine, configOf(lab(), built(), current));
                    const failure = await previewFailure(engine);
                    const named = current.naming ?? new RegExp(`egress-xdp:${current.key}(?![A-Za-z])`);
                    notes.message = failure?.split("\n").find((line) => named.test(line))?.trim();
                    expect(notes.message, `not refused naming ${current.key}: ${failure ?? "the preview succeeded"}`).to.be.a("string");
                }).catch((error: unknown) => {
                    failed.push(`${current.name}: ${error instanceof Error ? error.message : String(error)}`);
                });
            }
        }));
        expect(failed, "cases that failed (not refused with their key named, or their setup threw)").to.deep.equal([]);
    });

    it("refuses to run without root, before anything is changed", async function () {
        await measured("preview as user nobody (setpriv)", async (notes) => {
            const engine = await newEngine(projectRoot, `badroot-${lab().id}`);
            engines.push(engine);
            replaceStackConfig(engine, labStackConfig(lab(), "bad"));
            // Nobody can read root's backend and PULUMI_HOME: give it its own copies (an empty PULUMI_HOME
            // suffices, the preview stops before it needs a plugin).
            const home = mkdtempSync(path.join(tmpdir(), "egress-xdp-home-"));
            scratch.push(home);
            const backend = engine.command([]).env.PULUMI_BACKEND_URL.slice("file://".length);
            await run({ resource: "t" }, ["chown", "-R", "65534:65534", backend, home]);
            const failure = await previewFailure(engine, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"],
                { PULUMI_HOME: home });
            notes.message = failure?.split("\n").find((line) => /must run as root/.test(line))?.trim();
            expect(notes.message, failure ?? "the preview succeeded").to.be.a("string");
        });
    });
});
