// The CDN relays of one live event on two ZEGO apps, through the typed Go SDK of the native
// `zego` package: a rehearsal on the test app and the show on the production app, one explicit
// provider per AppId, and each rule set names the provider (so the app) it belongs to.
package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/zego-pulumi-provider/zego-pulumi-provider/sdk/go/zego"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		cdnHost := cfg.Require("cdnHost")
		testAppID := cfg.RequireInt("testAppId")

		testApp, err := zego.NewProvider(ctx, "testApp", &zego.ProviderArgs{
			AppId:        pulumi.Int(testAppID),
			ServerSecret: cfg.RequireSecret("testServerSecret"),
			Endpoint:     pulumi.String(cfg.Require("testEndpoint")),
			IsTest:       pulumi.Bool(true), // ZEGO's test environment
		})
		if err != nil {
			return err
		}
		productionApp, err := zego.NewProvider(ctx, "productionApp", &zego.ProviderArgs{
			AppId:        pulumi.Int(cfg.RequireInt("productionAppId")),
			ServerSecret: cfg.RequireSecret("productionServerSecret"),
			Endpoint:     pulumi.String(cfg.Require("productionEndpoint")),
		})
		if err != nil {
			return err
		}

		// ZEGO's test environment wants stream ids that start with zegotest-<AppId>-.
		rehearsalStream := fmt.Sprintf("zegotest-%d-keynote", testAppID)
		rehearsal, err := zego.NewCdnTransferRuleSet(ctx, "rehearsal", &zego.CdnTransferRuleSetArgs{
			StreamId: pulumi.String(rehearsalStream),
			CdnUrls:  pulumi.StringArray{pulumi.String(fmt.Sprintf("rtmp://%s/live/%s", cdnHost, rehearsalStream))},
		}, pulumi.Provider(testApp))
		if err != nil {
			return err
		}

		keynote, err := zego.NewCdnTransferRuleSet(ctx, "keynote", &zego.CdnTransferRuleSetArgs{
			StreamId: pulumi.String("keynote"),
			CdnUrls: pulumi.StringArray{
				pulumi.String(fmt.Sprintf("rtmp://%s/live/keynote", cdnHost)),
				pulumi.String("rtmp://backup-push.example-cdn.net/live/keynote?auth=token"),
			},
		}, pulumi.Provider(productionApp))
		if err != nil {
			return err
		}

		// No relay: nothing is created, and destroy still clears the stream.
		if _, err := zego.NewCdnTransferRuleSet(ctx, "greenRoom", &zego.CdnTransferRuleSetArgs{
			StreamId: pulumi.String("green-room"),
			CdnUrls:  pulumi.StringArray{},
		}, pulumi.Provider(productionApp)); err != nil {
			return err
		}

		ctx.Export("rehearsalRelays", rehearsal.CdnUrls)
		ctx.Export("keynoteRelays", keynote.CdnUrls)
		return nil
	})
}
