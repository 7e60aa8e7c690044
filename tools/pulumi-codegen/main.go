// Command pulumi-codegen writes the SDKs of a Pulumi package, one per language, from its
// schema, with Pulumi's own code generators (github.com/pulumi/pulumi/pkg/v3/codegen/...) at
// the version go.mod pins: the same generators `pulumi package gen-sdk` runs through each
// language host, in one program, because the CLI here has only the Python and YAML hosts.
//
//	pulumi-codegen -schema schema.json -out sdk
//
// writes sdk/python, sdk/nodejs and sdk/go, each replaced whole (a file the schema no longer
// produces disappears). The Go SDK's go.mod requires github.com/pulumi/pulumi/sdk/v3 at the
// version this program was built with (the CLI's), and its go.sum is written by `go mod tidy`,
// so the SDK builds as committed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pythongen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"golang.org/x/mod/modfile"
)

// tool is what each generated file's header names as its generator.
const tool = "pulumi-codegen"

const pulumiGoSDK = "github.com/pulumi/pulumi/sdk/v3"

// generator produces one language's files (paths relative to that language's folder).
type generator func(pkg *schema.Package) (map[string][]byte, error)

var generators = map[string]generator{
	"python": func(pkg *schema.Package) (map[string][]byte, error) {
		return pythongen.GeneratePackage(tool, pkg, nil, nil)
	},
	"nodejs": func(pkg *schema.Package) (map[string][]byte, error) {
		return nodejsgen.GeneratePackage(tool, pkg, nil, nil, false, nil)
	},
	"go": func(pkg *schema.Package) (map[string][]byte, error) {
		files, err := gogen.GeneratePackage(tool, pkg, nil)
		if err != nil {
			return nil, err
		}
		return files, pinGoSDK(files)
	},
}

func main() {
	schemaPath := flag.String("schema", "", "the package schema (JSON), as `pulumi package get-schema` prints it")
	out := flag.String("out", "", "the folder to write <language>/ SDKs into")
	flag.Parse()
	if *schemaPath == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*schemaPath, *out); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-codegen: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, out string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	languages := make([]string, 0, len(generators))
	for language := range generators {
		languages = append(languages, language)
	}
	sort.Strings(languages)
	for _, language := range languages {
		// Each generator decorates the bound package with its language's info: bind afresh.
		pkg, err := bind(raw)
		if err != nil {
			return err
		}
		files, err := generators[language](pkg)
		if err != nil {
			return fmt.Errorf("%s: %w", language, err)
		}
		dir := filepath.Join(out, language)
		if err := replaceDir(dir, files); err != nil {
			return err
		}
		if language == "go" {
			if err := tidy(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

func bind(raw []byte) (*schema.Package, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("the schema is not valid JSON: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, schema.NewNullLoader(), schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("the schema does not bind: %w", diags)
	}
	return pkg, nil
}

// pinGoSDK makes the generated go.mod require the Go SDK this program was built with
// (the generator writes a fixed older version, which the CLI's module cache lacks).
func pinGoSDK(files map[string][]byte) error {
	text, ok := files["go.mod"]
	if !ok {
		return fmt.Errorf("go: no go.mod generated (the schema must set supportPack)")
	}
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == pulumiGoSDK {
				version = dep.Version
			}
		}
	}
	if version == "" {
		return fmt.Errorf("go: this program was built without %s", pulumiGoSDK)
	}
	mod, err := modfile.Parse("go.mod", text, nil)
	if err != nil {
		return err
	}
	if err := mod.AddRequire(pulumiGoSDK, version); err != nil {
		return err
	}
	files["go.mod"], err = mod.Format()
	return err
}

// replaceDir makes dir hold exactly files.
func replaceDir(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// tidy completes the Go SDK's go.mod and writes its go.sum (from the module cache when the
// CLI has been built; else through the module proxy).
func tidy(dir string) error {
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w", dir, err)
	}
	return nil
}
