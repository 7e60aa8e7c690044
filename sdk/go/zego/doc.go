// ZEGOCLOUD CDN relay (transfer) rules per live stream, declared as Pulumi resources.
package zego
