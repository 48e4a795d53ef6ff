/** Kubernetes object names as inputs take them (RFC 1123 labels: namespaces, Deployments, apps). */
export const KUBE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const KUBE_NAME_FORM =
  'a Kubernetes name: lower-case letters, digits and "-", starting and ending with a letter or digit';
