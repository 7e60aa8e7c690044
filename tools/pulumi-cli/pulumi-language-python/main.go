// Command pulumi-language-python is a small Python language host for the
// Pulumi engine, built by scripts/ensure-pulumi.
//
// Why it exists: upstream's host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), which
// the Go module proxy reachable from this project's machines does not serve,
// while github.com/pulumi/pulumi/pkg/v3 (the CLI) and
// github.com/pulumi/pulumi/sdk/v3 are served. This host is written against
// sdk/v3 at the same version as the CLI and reuses its pieces: the gRPC
// protocol (proto/go), the Python toolchain handling (python/toolchain:
// pip/poetry/uv, virtualenv resolution and validation) and the
// pulumi-language-python-exec program runner shipped in sdk/v3/python/cmd.
//
// It implements what `pulumi preview/up/refresh/destroy/install/about` need
// for a Python program (including dynamic providers): Run,
// GetRequiredPackages (resource plugins declared by installed packages'
// pulumi-plugin.json), InstallDependencies, About, GetProgramDependencies,
// GetPluginInfo, RuntimeOptionsPrompts (none) and Handshake; and, in
// codegen.go, code generation through Pulumi's own Python generator
// (GeneratePackage for `pulumi package gen-sdk`, GenerateProgram for `pulumi
// import`, GenerateProject for `pulumi convert`). RunPlugin (Python policy
// packs / component plugins) and debugger attachment are not implemented.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The program runner shipped in sdk/v3/python/cmd; installed next to this binary.
	execName = "pulumi-language-python-exec"
	// Exit code with which the runner says it already showed the user an actionable error.
	exitAfterUserMessage = 32
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string
}

func main() {
	var tracing string
	// The engine may also pass --logtostderr and -v=N (see resource/plugin/plugin.go
	// in sdk/v3); the logging package registers those flags itself.
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	// Options older CLIs passed as flags; accepted and ignored (options now arrive in ProgramInfo).
	for _, name := range []string{"root", "virtualenv", "toolchain", "typechecker"} {
		flag.String(name, "", "ignored")
	}
	flag.Parse()

	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", tracing)

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engineAddress, time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelChannel)
	}()

	h := &host{engineAddress: engineAddress, tracing: tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}

	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// options reads the `runtime.options` of Pulumi.yaml (virtualenv, toolchain, typechecker).
type options struct {
	toolchain   toolchain.PythonOptions
	typechecker string
}

func parseOptions(info *pulumirpc.ProgramInfo) (options, error) {
	var opts options
	if info == nil {
		return opts, errors.New("the engine sent no program info; this CLI is too old for this language host")
	}
	opts.toolchain.Root = info.GetRootDirectory()
	opts.toolchain.ProgramDir = info.GetProgramDirectory()
	raw := map[string]any{}
	if s := info.GetOptions(); s != nil {
		raw = s.AsMap()
	}
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("runtime option %q must be a string, got %T", key, v)
		}
		return s, nil
	}
	var err error
	if opts.toolchain.Virtualenv, err = str("virtualenv"); err != nil {
		return opts, err
	}
	tc, err := str("toolchain")
	if err != nil {
		return opts, err
	}
	switch strings.ToLower(tc) {
	case "":
		opts.toolchain.Toolchain = toolchain.Auto
	case "pip":
		opts.toolchain.Toolchain = toolchain.Pip
	case "poetry":
		opts.toolchain.Toolchain = toolchain.Poetry
	case "uv":
		opts.toolchain.Toolchain = toolchain.Uv
	default:
		return opts, fmt.Errorf("unsupported Python toolchain %q (use pip, poetry or uv)", tc)
	}
	if opts.typechecker, err = str("typechecker"); err != nil {
		return opts, err
	}
	switch opts.typechecker {
	case "", "mypy", "pyright":
	default:
		return opts, fmt.Errorf("unsupported Python typechecker %q (use mypy or pyright)", opts.typechecker)
	}
	return opts, nil
}

func resolve(info *pulumirpc.ProgramInfo) (options, toolchain.Toolchain, error) {
	opts, err := parseOptions(info)
	if err != nil {
		return opts, nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts.toolchain)
	if err != nil {
		return opts, nil, err
	}
	return opts, tc, nil
}

// commandEnv returns the environment a toolchain command will run with.
func commandEnv(cmd *exec.Cmd) []string {
	if cmd.Env != nil {
		return cmd.Env
	}
	return os.Environ()
}

func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// findExec locates pulumi-language-python-exec: next to this binary (symlinks
// resolved, then not), else on PATH.
func findExec() (string, error) {
	if self, err := os.Executable(); err == nil {
		candidates := []string{filepath.Join(filepath.Dir(self), execName)}
		if real, err := filepath.EvalSymlinks(self); err == nil {
			candidates = append([]string{filepath.Join(filepath.Dir(real), execName)}, candidates...)
		}
		for _, c := range candidates {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
		}
	}
	p, err := exec.LookPath(execName)
	if err != nil {
		return "", fmt.Errorf("could not find %s next to %s or on PATH: %w", execName, os.Args[0], err)
	}
	return p, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts, tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	runner, err := findExec()
	if err != nil {
		return nil, err
	}
	programDir := req.GetInfo().GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}

	if opts.typechecker != "" {
		if msg, err := typecheck(ctx, tc, opts.typechecker, programDir); err != nil {
			return nil, err
		} else if msg != "" {
			return &pulumirpc.RunResponse{Error: msg}, nil
		}
	}

	args := []string{"-u", runner}
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", programDir)
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	add("organization", req.GetOrganization())
	program := req.GetInfo().GetEntryPoint()
	if program == "" {
		program = req.GetProgram()
	}
	if program == "" {
		program = "." // runs __main__.py in the program directory
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{} // "null" would break the runner
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Dir = programDir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(commandEnv(cmd),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	if req.GetAttachDebugger() {
		fmt.Fprintln(os.Stderr, "warning: this pulumi-language-python does not support --attach-debugger; running normally")
	}
	logging.V(5).Infof("pulumi-language-python: running %s %s", cmd.Path, strings.Join(args, " "))

	if err := cmd.Run(); err != nil {
		// Make sure whatever Python printed before dying reaches the engine.
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			switch code := exitErr.ExitCode(); code {
			case exitAfterUserMessage:
				return &pulumirpc.RunResponse{Bail: true}, nil
			case -1:
				return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", exitErr)}, nil
			default:
				return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", code)}, nil
			}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// typecheck runs mypy or pyright on the program directory. A non-empty
// message means the check failed (its output went to stdout/stderr).
func typecheck(ctx context.Context, tc toolchain.Toolchain, checker, dir string) (string, error) {
	args := []string{}
	if checker == "mypy" {
		args = append(args, dir)
	}
	cmd, err := tc.ModuleCommand(ctx, checker, args...)
	if err != nil {
		return "", err
	}
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("%s failed: %v", checker, err), nil
	}
	return "", nil
}

// pluginScanner lists the resource plugins that installed Python packages
// declare in a pulumi-plugin.json file (as provider SDKs do). Printed as JSON.
const pluginScanner = `
import importlib.metadata as md, json, re, sys
out = []
seen = set()
for dist in md.distributions():
    name = dist.metadata["Name"] or ""
    for f in dist.files or []:
        if f.name != "pulumi-plugin.json":
            continue
        try:
            data = json.loads(f.read_text())
        except Exception:
            continue
        if not isinstance(data, dict) or not data.get("resource"):
            continue
        plugin = data.get("name") or re.sub(r"^pulumi[-_]", "", name.lower()).replace("_", "-")
        item = {"name": plugin, "version": data.get("version") or dist.version,
                "server": data.get("server") or ""}
        p = data.get("parameterization")
        if isinstance(p, dict):
            item["parameterization"] = p
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
json.dump(out, sys.stdout)
`

type pluginJSON struct {
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   string `json:"value"` // base64
	} `json:"parameterization"`
}

func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	_, tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", pluginScanner)
	if err != nil {
		return nil, err
	}
	cmd.Dir = req.GetInfo().GetProgramDirectory()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the Python packages' Pulumi plugins failed: %w\n%s", err, stderr.String())
	}
	var found []pluginJSON
	if err := json.Unmarshal(out, &found); err != nil {
		return nil, fmt.Errorf("could not parse the Python packages' Pulumi plugins: %w", err)
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range found {
		dep := &pulumirpc.PackageDependency{
			Name:    p.Name,
			Kind:    "resource",
			Version: p.Version,
			Server:  p.Server,
		}
		if p.Parameterization != nil {
			value, err := base64.StdEncoding.DecodeString(p.Parameterization.Value)
			if err != nil {
				return nil, fmt.Errorf("package %s: bad parameterization value: %w", p.Name, err)
			}
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name:    p.Parameterization.Name,
				Version: p.Parameterization.Version,
				Value:   value,
			}
		}
		resp.Packages = append(resp.Packages, dep)
	}
	return resp, nil
}

func (h *host) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: req.GetInfo()})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range pkgs.GetPackages() {
		if p.GetParameterization() != nil {
			continue
		}
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.GetName(), Kind: p.GetKind(), Version: p.GetVersion(), Server: p.GetServer(),
		})
	}
	return resp, nil
}

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	ctx := server.Context()
	_, tc, err := resolve(req.GetInfo())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	useTools := req.GetUseLanguageVersionTools()
	if err := tc.EnsureVenv(ctx, dir, useTools, true, stdout, stderr); err != nil {
		return err
	}
	if err := tc.InstallDependencies(ctx, dir, useTools, true, stdout, stderr); err != nil {
		return err
	}
	if req.GetIsPlugin() {
		if err := tc.InstallPackage(ctx, dir, useTools, true, stdout, stderr); err != nil {
			return err
		}
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to get python version: %w", err)
	}
	meta := map[string]string{
		"toolchain":        toolchain.Name(opts.toolchain.Toolchain),
		"toolchainVersion": info.ToolchainVersion.String(),
		"host":             "zego-pulumi-provider pulumi-language-python",
	}
	if venv, err := tc.VirtualEnvPath(ctx); err == nil && venv != "" {
		meta["virtualenv"] = venv
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata:   meta,
	}, nil
}

func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	deps, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, d := range deps {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return resp, nil
}
