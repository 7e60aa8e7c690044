// The CDN relays of one live event on two ZEGO apps, through the typed `@zego-pulumi/zego` SDK:
// a rehearsal on the test app and the show on the production app, one explicit provider per
// AppId, and each rule set names the provider (so the app) it belongs to.
import * as pulumi from "@pulumi/pulumi";
import * as zego from "@zego-pulumi/zego";

const config = new pulumi.Config();
const cdnHost = config.require("cdnHost");
const testAppId = config.requireNumber("testAppId");

const testApp = new zego.Provider("testApp", {
    appId: testAppId,
    serverSecret: config.requireSecret("testServerSecret"),
    endpoint: config.require("testEndpoint"),
    isTest: true, // ZEGO's test environment
});
const productionApp = new zego.Provider("productionApp", {
    appId: config.requireNumber("productionAppId"),
    serverSecret: config.requireSecret("productionServerSecret"),
    endpoint: config.require("productionEndpoint"),
});

// ZEGO's test environment wants stream ids that start with zegotest-<AppId>-.
const rehearsalStream = `zegotest-${testAppId}-keynote`;
const rehearsal = new zego.CdnTransferRuleSet("rehearsal", {
    streamId: rehearsalStream,
    cdnUrls: [`rtmp://${cdnHost}/live/${rehearsalStream}`],
}, { provider: testApp });

const keynote = new zego.CdnTransferRuleSet("keynote", {
    streamId: "keynote",
    cdnUrls: [
        `rtmp://${cdnHost}/live/keynote`,
        "rtmp://backup-push.example-cdn.net/live/keynote?auth=token",
    ],
}, { provider: productionApp });

new zego.CdnTransferRuleSet("greenRoom", {
    streamId: "green-room",
    cdnUrls: [], // no relay: nothing is created, and destroy still clears the stream
}, { provider: productionApp });

export const rehearsalRelays = rehearsal.cdnUrls;
export const keynoteRelays = keynote.cdnUrls;
