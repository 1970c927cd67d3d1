// Issue 10 end to end: egress-xdp as a package whose stacks outlive their directory. A user's own
// TypeScript program (run by ts-node, Pulumi's default) installed from the `npm pack` tarball, and the
// repository's root program in a copy of the checkout, each moved to another path after `up`, with
// the build output and the object cache wiped, then refreshed and destroyed; and a stack made by the
// version before (its state loads each provider by the absolute path of its checkout) migrated by the
// README's one command after that checkout moved.
import { expect } from "chai";
import {
    copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { Engine, newEngine, projectRoot } from "../../lab/engine";
import { StackOutputs, labStackConfig, setStackConfig } from "../../lab/stack";
import { readLink } from "../../provider/link";
import { run } from "../../provider/runner";
import { useLab } from "../helpers/kernel-suite";
import { inNs } from "../helpers/lab";

/** A user's program: two EgressXdp instances on one host, the second's bridge name an Output. */
const userProgram = `import * as pulumi from "@pulumi/pulumi";
import { EgressXdp } from "egress-xdp";

const config = new pulumi.Config();
const host = { hostNetns: config.require("hostNetns"), sendDev: config.require("sendDev") };
const labId = config.require("labId");
const first = new EgressXdp("first", { ...host, namespace: \`exua-\${labId}\` });
const second = new EgressXdp("second", {
    ...host, namespace: \`exub-\${labId}\`, bridge: first.bridge.apply(() => "br_2"), tap: "tap_2",
    vethOuter: "veth_2a", vethInner: "veth_2b", outerAddress: "10.0.2.1/24", innerAddress: "10.0.2.2/24",
});
export const namespaces = [first.namespace, second.namespace];
export const programIds = [first.xdpProgramId, second.xdpProgramId];
`;

const userTsconfig = {
    compilerOptions: { strict: true, target: "es2020", module: "commonjs", moduleResolution: "node", esModuleInterop: true },
    files: ["index.ts"],
};

const ping = async (netns: string, target: string) =>
    (await inNs(netns, ["ping", "-c", "2", "-i", "0.2", "-W", "1", target], { allowFailure: true })).exitCode === 0;

/** The last commit of the previous version (providers loaded by path from dist/provider/). */
const previousVersion = "d43d9dbc0d40e68626733a116de112ed16d7ca25";

const stateOf = async (engine: Engine) => (await engine.pulumi(["stack", "export"])).stdout;

describe("egress-xdp as a package, state that outlives the folder (engine, root tier)", function () {
    this.timeout(900000);
    const engines: Engine[] = [];
    const scratch: string[] = [];
    // Registered before useLab's hooks, so the stacks are destroyed before the lab is compared.
    afterEach(async function () {
        for (const engine of engines.splice(0)) {
            await engine.pulumi(["destroy", "--yes"], { allowFailure: true });
            engine.dispose();
        }
        for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
    });
    const lab = useLab();
    const tempDir = (prefix: string) => {
        const dir = mkdtempSync(path.join(tmpdir(), prefix));
        scratch.push(dir);
        return dir;
    };

    it("serves a user's TypeScript program installed from the npm pack tarball, moved after up", async function () {
        const work = tempDir("egress-xdp-user-");
        await run({ resource: "npm pack" }, ["npm", "pack", "--ignore-scripts", "--pack-destination", work], { cwd: projectRoot });
        const tarball = readdirSync(work).find((file) => file.endsWith(".tgz"))!;
        const programDir = path.join(work, "program");
        mkdirSync(programDir);
        const devDependencies = require(path.join(projectRoot, "package.json")).devDependencies as Record<string, string>;
        const pin = (names: string[]) => Object.fromEntries(names.map((name) => [name, devDependencies[name]]));
        writeFileSync(path.join(programDir, "package.json"), JSON.stringify({
            name: "user-egress", private: true,
            dependencies: { "egress-xdp": `file:../${tarball}`, ...pin(["@pulumi/pulumi", "@pulumi/command"]) },
            devDependencies: pin(["typescript", "ts-node", "@types/node"]),
        }, null, 2));
        writeFileSync(path.join(programDir, "Pulumi.yaml"), "name: user-egress\nruntime: nodejs\n");
        writeFileSync(path.join(programDir, "tsconfig.json"), JSON.stringify(userTsconfig, null, 2));
        writeFileSync(path.join(programDir, "index.ts"), userProgram);
        await run({ resource: "npm install" }, ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: programDir });

        const engine = await newEngine(programDir, `user-${lab().id}`);
        engines.push(engine);
        const config = { hostNetns: lab().host, sendDev: lab().uplink, labId: lab().id };
        await engine.pulumi(["config", "set-all", ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `user-egress:${k}=${v}`])]);
        await engine.pulumi(["up", "--yes"]);
        const out = JSON.parse((await engine.pulumi(["stack", "output", "--json"])).stdout) as { namespaces: string[]; programIds: number[] };
        expect(out.namespaces).to.deep.equal([`exua-${lab().id}`, `exub-${lab().id}`]);
        for (const [i, netns] of out.namespaces.entries()) {
            expect(await ping(netns, lab().serverAddress), `traffic from ${netns}`).to.equal(true);
            const outer = await readLink({ resource: "t", netns: lab().host }, i === 0 ? "veth_1a" : "veth_2a");
            expect(outer?.xdp?.progId).to.equal(out.programIds[i]);
        }
        await engine.pulumi(["preview", "--expect-no-changes"]);
        const state = await stateOf(engine);
        expect(state, "no path of the program's directory in the state").to.not.include(work);
        expect(state).to.not.include(projectRoot);

        const moved = path.join(work, "moved");
        renameSync(programDir, moved);
        engine.relocate(moved);
        await engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
        await engine.pulumi(["destroy", "--yes"]);
    });

    it("serves the root program from a moved checkout with its build output and object cache wiped", async function () {
        const work = tempDir("egress-xdp-checkout-");
        const cache = path.join(work, "cache");
        const checkout = path.join(work, "checkout");
        mkdirSync(checkout);
        const copyBuild = (dir: string) => cpSync(path.join(projectRoot, "dist"), path.join(dir, "dist"), { recursive: true });
        for (const file of ["Pulumi.yaml", "package.json", "bpf"]) cpSync(path.join(projectRoot, file), path.join(checkout, file), { recursive: true });
        copyBuild(checkout);
        symlinkSync(path.join(projectRoot, "node_modules"), path.join(checkout, "node_modules"));

        const engine = await newEngine(checkout, `moved-${lab().id}`, { EGRESS_XDP_CACHE: cache });
        engines.push(engine);
        const config = labStackConfig(lab(), "mv");
        await setStackConfig(engine, config);
        const outputs = async () => JSON.parse((await engine.pulumi(["stack", "output", "--json"])).stdout) as StackOutputs;
        await engine.pulumi(["up", "--yes"]);
        const first = await outputs();
        expect(await ping(String(config.namespace), lab().serverAddress)).to.equal(true);

        // Another path, a fresh build (scripts/test: rm -rf dist; tsc), an empty object cache.
        const moved = path.join(work, "moved");
        renameSync(checkout, moved);
        engine.relocate(moved);
        rmSync(path.join(moved, "dist"), { recursive: true, force: true });
        rmSync(cache, { recursive: true, force: true });
        copyBuild(moved);
        await engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
        await engine.pulumi(["preview", "--expect-no-changes"]);
        expect(readdirSync(path.join(cache, "objects")).filter((file) => file.endsWith(".o")), "rebuilt by the preview")
            .to.have.length(1);
        rmSync(cache, { recursive: true, force: true });
        await engine.pulumi(["up", "--yes", "--expect-no-changes"]);
        expect(existsSync(path.join(cache, "objects")), "rebuilt by up").to.equal(true);
        expect((await outputs()).xdpProgramId, "the program stayed attached").to.equal(first.xdpProgramId);
        expect(await ping(String(config.namespace), lab().serverAddress)).to.equal(true);
        await engine.pulumi(["destroy", "--yes"]);
    });

    it("migrates a stack made by the previous version with one command after its checkout moved", async function () {
        const work = tempDir("egress-xdp-previous-");
        const old = path.join(work, "checkout");
        await run({ resource: "git archive" }, ["git", "-C", projectRoot, "archive", "--format=tar", "--prefix=checkout/",
            "-o", path.join(work, "previous.tar"), previousVersion]);
        await run({ resource: "tar" }, ["tar", "-xf", path.join(work, "previous.tar"), "-C", work]);
        for (const link of ["node_modules", ".tools"]) symlinkSync(path.join(projectRoot, link), path.join(old, link));
        await run({ resource: "tsc (previous version)" }, ["npx", "tsc", "-p", "tsconfig.json"], { cwd: old });

        const engine = await newEngine(old, `prev-${lab().id}`);
        engines.push(engine);
        const config = labStackConfig(lab(), "prev");
        await setStackConfig(engine, config);
        await engine.pulumi(["up", "--yes"]);
        const state = await stateOf(engine);
        expect(state, "the previous version's state names its checkout").to.include(path.join(old, "dist", "provider"));

        // The checkout moves: its state's paths lead nowhere. The stack config goes to this checkout.
        const moved = path.join(work, "moved");
        renameSync(old, moved);
        copyFileSync(path.join(moved, `Pulumi.${engine.stack}.yaml`), path.join(projectRoot, `Pulumi.${engine.stack}.yaml`));
        engine.relocate(projectRoot);
        const refused = await engine.pulumi(["refresh", "--yes"], { allowFailure: true });
        expect(refused.exitCode, "refresh before the migration").to.not.equal(0);

        await run({ resource: "migrate-state" }, ["node", path.join(projectRoot, "dist", "scripts", "migrate-state.js"), engine.stack],
            { cwd: projectRoot, env: engine.command([]).env });
        const providers = (JSON.parse(await stateOf(engine)).deployment.resources as { outputs?: { __provider?: string } }[])
            .map((resource) => resource.outputs?.__provider).filter((text) => text !== undefined);
        expect(providers, "every provider named by package").to.have.length.above(8);
        expect(providers.filter((text) => text!.includes(work))).to.deep.equal([]);
        await engine.pulumi(["refresh", "--yes", "--expect-no-changes"]);
        await engine.pulumi(["up", "--yes"]);
        expect(await stateOf(engine), "up replaced the previous version's paths").to.not.include(work);
        const ping = await inNs(String(config.namespace), ["ping", "-c", "2", "-i", "0.2", "-W", "1", lab().serverAddress],
            { allowFailure: true });
        expect(ping.exitCode, "traffic passes after the new version's up").to.equal(0);
        await engine.pulumi(["preview", "--expect-no-changes"]);
        await engine.pulumi(["destroy", "--yes"]);
    });
});
