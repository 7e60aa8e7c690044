"""The CDN relays of one live event on two ZEGO apps, through the typed `pulumi_zego` SDK.

A rehearsal on the test app and the show on the production app: one explicit provider per
AppId, and each rule set names the provider (so the app) it belongs to.
"""

import pulumi
import pulumi_zego as zego

config = pulumi.Config()
cdn_host = config.require("cdnHost")
test_app_id = config.require_int("testAppId")

test_app = zego.Provider(
    "testApp",
    app_id=test_app_id,
    server_secret=config.require_secret("testServerSecret"),
    endpoint=config.require("testEndpoint"),
    is_test=True,  # ZEGO's test environment
)
production_app = zego.Provider(
    "productionApp",
    app_id=config.require_int("productionAppId"),
    server_secret=config.require_secret("productionServerSecret"),
    endpoint=config.require("productionEndpoint"),
)

# ZEGO's test environment wants stream ids that start with zegotest-<AppId>-.
rehearsal_stream = f"zegotest-{test_app_id}-keynote"
rehearsal = zego.CdnTransferRuleSet(
    "rehearsal",
    stream_id=rehearsal_stream,
    cdn_urls=[f"rtmp://{cdn_host}/live/{rehearsal_stream}"],
    opts=pulumi.ResourceOptions(provider=test_app),
)

keynote = zego.CdnTransferRuleSet(
    "keynote",
    stream_id="keynote",
    cdn_urls=[
        f"rtmp://{cdn_host}/live/keynote",
        "rtmp://backup-push.example-cdn.net/live/keynote?auth=token",
    ],
    opts=pulumi.ResourceOptions(provider=production_app),
)

green_room = zego.CdnTransferRuleSet(
    "greenRoom",
    stream_id="green-room",
    cdn_urls=[],  # no relay: nothing is created, and destroy still clears the stream
    opts=pulumi.ResourceOptions(provider=production_app),
)

pulumi.export("rehearsalRelays", rehearsal.cdn_urls)
pulumi.export("keynoteRelays", keynote.cdn_urls)
