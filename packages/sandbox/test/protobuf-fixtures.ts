/**
 * Objects with (nearly) every field kubectl v1.32 knows set to a value that is not Go's zero,
 * zeros kept where the field is a pointer. Encoded with the sandbox's tables and decoded by
 * kubectl's generated Go code, each must come back whole: a wrong field number would land its
 * value under another name, or lose it.
 */
import type { Untyped } from './api-helpers.js';

const T1 = '2024-05-01T10:00:00Z';
const T2 = '2024-05-01T10:05:00Z';

const metadata = (name: string, namespace?: string): Untyped => ({
  name,
  generateName: `${name}-`,
  ...(namespace ? { namespace } : {}),
  uid: '2f4b4c6e-0000-4000-8000-000000000001',
  resourceVersion: '42',
  generation: 3,
  creationTimestamp: T1,
  deletionGracePeriodSeconds: 30,
  labels: { app: name, tier: 'front' },
  annotations: { 'example.com/note': 'protobuf' },
  ownerReferences: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: `${name}-owner`,
      uid: '2f4b4c6e-0000-4000-8000-000000000002',
      controller: true,
      blockOwnerDeletion: false,
    },
  ],
  finalizers: ['example.com/keep'],
  managedFields: [
    {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      apiVersion: 'v1',
      time: T2,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      subresource: 'status',
    },
  ],
});

export const POD_SPEC: Untyped = {
  volumes: [
    {
      name: 'cfg',
      configMap: {
        name: 'web-config',
        items: [{ key: 'a', path: 'a.txt', mode: 420 }],
        defaultMode: 292,
        optional: true,
      },
    },
    { name: 'sec', secret: { secretName: 'web-secret', defaultMode: 256, optional: false } },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
    { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
    {
      name: 'proj',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'token' } },
          {
            downwardAPI: {
              items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }],
            },
          },
          { configMap: { name: 'web-config', items: [{ key: 'b', path: 'b' }], optional: true } },
          { secret: { name: 'web-secret', optional: false } },
          {
            clusterTrustBundle: {
              signerName: 'example.com/signer',
              labelSelector: { matchLabels: { bundle: 'yes' } },
              path: 'bundle.pem',
              optional: true,
            },
          },
        ],
      },
    },
    {
      name: 'csi',
      csi: {
        driver: 'secrets-store.csi.k8s.io',
        readOnly: true,
        fsType: 'ext4',
        volumeAttributes: { secretProviderClass: 'vault' },
        nodePublishSecretRef: { name: 'creds' },
      },
    },
    {
      name: 'eph',
      ephemeral: {
        volumeClaimTemplate: {
          metadata: { labels: { type: 'scratch' } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            selector: { matchLabels: { disk: 'ssd' } },
            resources: { requests: { storage: '1Gi' }, limits: { storage: '2Gi' } },
            volumeName: 'pv-1',
            storageClassName: 'fast',
            volumeMode: 'Filesystem',
            dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
            dataSourceRef: {
              apiGroup: 'snapshot.storage.k8s.io',
              kind: 'VolumeSnapshot',
              name: 'snap',
              namespace: 'backups',
            },
            volumeAttributesClassName: 'gold',
          },
        },
      },
    },
    { name: 'nfs', nfs: { server: 'nfs.example.com', path: '/exports', readOnly: true } },
    {
      name: 'dapi',
      downwardAPI: {
        defaultMode: 420,
        items: [
          {
            path: 'cpu',
            resourceFieldRef: { containerName: 'web', resource: 'limits.cpu', divisor: '1m' },
            mode: 256,
          },
        ],
      },
    },
    { name: 'img', image: { reference: 'registry.example.com/data:1', pullPolicy: 'IfNotPresent' } },
    { name: 'git', gitRepo: { repository: 'https://example.com/r.git', revision: 'abc', directory: '.' } },
    {
      name: 'iscsi',
      iscsi: {
        targetPortal: '10.0.0.9:3260',
        iqn: 'iqn.2024-01.com.example:t',
        lun: 1,
        iscsiInterface: 'default',
        fsType: 'ext4',
        readOnly: true,
        portals: ['10.0.0.10:3260'],
        chapAuthDiscovery: true,
        chapAuthSession: true,
        secretRef: { name: 'chap' },
        initiatorName: 'iqn.2024-01.com.example:i',
      },
    },
    {
      name: 'fc',
      fc: { targetWWNs: ['500a0982991b8dc5'], lun: 0, fsType: 'ext4', readOnly: true, wwids: ['wwid-1'] },
    },
    {
      name: 'rbd',
      rbd: {
        monitors: ['10.0.0.1:6789'],
        image: 'img',
        fsType: 'ext4',
        pool: 'kube',
        user: 'admin',
        keyring: '/etc/ceph/keyring',
        secretRef: { name: 'ceph' },
        readOnly: true,
      },
    },
    {
      name: 'cephfs',
      cephfs: {
        monitors: ['10.0.0.1:6789'],
        path: '/',
        user: 'admin',
        secretFile: '/etc/ceph/s',
        secretRef: { name: 'ceph' },
        readOnly: true,
      },
    },
    {
      name: 'flex',
      flexVolume: {
        driver: 'example/flex',
        fsType: 'ext4',
        secretRef: { name: 'flex' },
        readOnly: true,
        options: { a: 'b' },
      },
    },
    {
      name: 'azdisk',
      azureDisk: {
        diskName: 'd',
        diskURI: 'https://d',
        cachingMode: 'ReadOnly',
        fsType: 'ext4',
        readOnly: false,
        kind: 'Managed',
      },
    },
    { name: 'azfile', azureFile: { secretName: 'az', shareName: 'share', readOnly: true } },
    {
      name: 'scaleio',
      scaleIO: {
        gateway: 'gw',
        system: 'sys',
        secretRef: { name: 'sio' },
        sslEnabled: true,
        protectionDomain: 'pd',
        storagePool: 'sp',
        storageMode: 'ThinProvisioned',
        volumeName: 'v',
        fsType: 'xfs',
        readOnly: true,
      },
    },
    {
      name: 'sos',
      storageos: {
        volumeName: 'v',
        volumeNamespace: 'ns',
        fsType: 'ext4',
        readOnly: true,
        secretRef: { name: 'sos' },
      },
    },
    {
      name: 'quobyte',
      quobyte: { registry: 'reg:7861', volume: 'v', readOnly: true, user: 'u', group: 'g', tenant: 't' },
    },
    {
      name: 'cinder',
      cinder: { volumeID: 'vol', fsType: 'ext4', readOnly: true, secretRef: { name: 'os' } },
    },
    { name: 'gluster', glusterfs: { endpoints: 'ep', path: 'vol', readOnly: true } },
    { name: 'flocker', flocker: { datasetName: 'ds', datasetUUID: 'uuid' } },
    { name: 'gce', gcePersistentDisk: { pdName: 'pd', fsType: 'ext4', partition: 1, readOnly: true } },
    {
      name: 'aws',
      awsElasticBlockStore: { volumeID: 'vol-1', fsType: 'ext4', partition: 2, readOnly: true },
    },
    {
      name: 'vsphere',
      vsphereVolume: {
        volumePath: '[ds] v.vmdk',
        fsType: 'ext4',
        storagePolicyName: 'gold',
        storagePolicyID: 'id',
      },
    },
    { name: 'photon', photonPersistentDisk: { pdID: 'pd', fsType: 'ext4' } },
    { name: 'portworx', portworxVolume: { volumeID: 'px', fsType: 'ext4', readOnly: true } },
  ],
  initContainers: [
    {
      name: 'sidecar',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'sleep infinity'],
      restartPolicy: 'Always',
      resources: { requests: { cpu: '10m' } },
    },
  ],
  containers: [
    {
      name: 'web',
      image: 'shop/web:1.0',
      command: ['/app'],
      args: ['--port', '8080'],
      workingDir: '/srv',
      ports: [
        { name: 'http', containerPort: 8080, protocol: 'TCP' },
        { name: 'stats', containerPort: 9000, hostPort: 9000, protocol: 'UDP', hostIP: '0.0.0.0' },
      ],
      envFrom: [
        { prefix: 'CFG_', configMapRef: { name: 'web-config', optional: true } },
        { secretRef: { name: 'web-secret', optional: false } },
      ],
      env: [
        { name: 'MODE', value: 'blue' },
        { name: 'POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        {
          name: 'MEM',
          valueFrom: {
            resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' },
          },
        },
        { name: 'KEY', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'a', optional: false } } },
        {
          name: 'PASS',
          valueFrom: { secretKeyRef: { name: 'web-secret', key: 'password', optional: true } },
        },
      ],
      resources: {
        limits: { cpu: '500m', memory: '256Mi' },
        requests: { cpu: '100m', memory: '128Mi' },
        claims: [{ name: 'gpu', request: 'one' }],
      },
      resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }],
      volumeMounts: [
        {
          name: 'cfg',
          mountPath: '/etc/web',
          readOnly: true,
          subPath: 'conf',
          mountPropagation: 'None',
          recursiveReadOnly: 'Disabled',
        },
        { name: 'tmp', mountPath: '/tmp', subPathExpr: '$(POD)' },
      ],
      volumeDevices: [{ name: 'blk', devicePath: '/dev/xvda' }],
      livenessProbe: {
        httpGet: {
          path: '/healthz',
          port: 8080,
          host: 'localhost',
          scheme: 'HTTP',
          httpHeaders: [{ name: 'X-Probe', value: '1' }],
        },
        initialDelaySeconds: 5,
        timeoutSeconds: 2,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 4,
        terminationGracePeriodSeconds: 15,
      },
      readinessProbe: { tcpSocket: { port: 'http', host: '127.0.0.1' }, periodSeconds: 3 },
      startupProbe: { grpc: { port: 9090, service: 'health' }, failureThreshold: 30 },
      lifecycle: {
        postStart: { exec: { command: ['touch', '/tmp/started'] } },
        preStop: { sleep: { seconds: 5 } },
      },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'FallbackToLogsOnError',
      imagePullPolicy: 'IfNotPresent',
      securityContext: {
        capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
        privileged: false,
        seLinuxOptions: { user: 'system_u', role: 'system_r', type: 'container_t', level: 's0:c1' },
        windowsOptions: {
          gmsaCredentialSpecName: 'gmsa',
          gmsaCredentialSpec: '{}',
          runAsUserName: 'app',
          hostProcess: false,
        },
        runAsUser: 1000,
        runAsGroup: 3000,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        procMount: 'Default',
        seccompProfile: { type: 'RuntimeDefault' },
        appArmorProfile: { type: 'Localhost', localhostProfile: 'web' },
      },
      stdin: true,
      stdinOnce: true,
      tty: true,
    },
  ],
  ephemeralContainers: [
    { name: 'debug', image: 'busybox', targetContainerName: 'web', stdin: true, tty: true },
  ],
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 0,
  activeDeadlineSeconds: 600,
  dnsPolicy: 'None',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  serviceAccountName: 'web',
  serviceAccount: 'web',
  automountServiceAccountToken: false,
  nodeName: 'node-1',
  hostNetwork: true,
  hostPID: true,
  hostIPC: true,
  shareProcessNamespace: true,
  securityContext: {
    seLinuxOptions: { level: 's0:c2' },
    windowsOptions: { runAsUserName: 'ContainerUser' },
    runAsUser: 1000,
    runAsGroup: 3000,
    runAsNonRoot: true,
    supplementalGroups: [2000, 3000],
    supplementalGroupsPolicy: 'Strict',
    fsGroup: 2000,
    sysctls: [{ name: 'net.core.somaxconn', value: '1024' }],
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'Localhost', localhostProfile: 'profile.json' },
    appArmorProfile: { type: 'RuntimeDefault' },
    seLinuxChangePolicy: 'MountOption',
  },
  imagePullSecrets: [{ name: 'regcred' }],
  hostname: 'web-0',
  subdomain: 'web',
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }],
            matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-9'] }],
          },
        ],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 10, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } },
      ],
    },
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: { matchLabels: { app: 'cache' } },
          namespaces: ['shop'],
          topologyKey: 'kubernetes.io/hostname',
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['shop'] }] },
          matchLabelKeys: ['pod-template-hash'],
        },
      ],
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 50,
          podAffinityTerm: {
            labelSelector: { matchLabels: { app: 'web' } },
            topologyKey: 'zone',
            mismatchLabelKeys: ['tier'],
          },
        },
      ],
    },
  },
  schedulerName: 'custom',
  tolerations: [
    { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoExecute', tolerationSeconds: 300 },
  ],
  hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }],
  priorityClassName: 'high',
  priority: 1000,
  dnsConfig: {
    nameservers: ['1.1.1.1'],
    searches: ['svc.local'],
    options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
  },
  readinessGates: [{ conditionType: 'example.com/ready' }],
  runtimeClassName: 'gvisor',
  enableServiceLinks: false,
  preemptionPolicy: 'Never',
  overhead: { cpu: '50m' },
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: 'zone',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'web' } },
      minDomains: 2,
      nodeAffinityPolicy: 'Honor',
      nodeTaintsPolicy: 'Ignore',
      matchLabelKeys: ['pod-template-hash'],
    },
  ],
  setHostnameAsFQDN: true,
  os: { name: 'linux' },
  hostUsers: false,
  schedulingGates: [{ name: 'example.com/wait' }],
  resourceClaims: [
    { name: 'gpu', resourceClaimTemplateName: 'gpu-template' },
    { name: 'fpga', resourceClaimName: 'fpga-claim' },
  ],
  resources: { limits: { cpu: '2', memory: '1Gi' } },
};

export const DEPLOYMENT: Untyped = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: metadata('web', 'shop'),
  spec: {
    replicas: 3,
    selector: {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }],
    },
    template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: POD_SPEC },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
    minReadySeconds: 5,
    revisionHistoryLimit: 0,
    paused: true,
    progressDeadlineSeconds: 600,
  },
  status: {
    observedGeneration: 3,
    replicas: 3,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    unavailableReplicas: 1,
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        lastUpdateTime: T1,
        lastTransitionTime: T2,
        reason: 'NewReplicaSetAvailable',
        message: 'rolled out',
      },
    ],
    collisionCount: 1,
  },
};

export const SERVICE: Untyped = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: metadata('web', 'shop'),
  spec: {
    ports: [
      {
        name: 'http',
        protocol: 'TCP',
        appProtocol: 'kubernetes.io/h2c',
        port: 80,
        targetPort: 'http',
        nodePort: 30080,
      },
      { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 9090 },
    ],
    selector: { app: 'web' },
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    type: 'LoadBalancer',
    externalIPs: ['192.0.2.10'],
    sessionAffinity: 'ClientIP',
    loadBalancerIP: '192.0.2.20',
    loadBalancerSourceRanges: ['192.0.2.0/24'],
    externalName: 'web.example.com',
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 31000,
    publishNotReadyAddresses: true,
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    allocateLoadBalancerNodePorts: false,
    loadBalancerClass: 'example.com/lb',
    internalTrafficPolicy: 'Local',
    trafficDistribution: 'PreferClose',
  },
  status: {
    loadBalancer: {
      ingress: [
        {
          ip: '192.0.2.30',
          hostname: 'lb.example.com',
          ipMode: 'VIP',
          ports: [{ port: 80, protocol: 'TCP', error: 'example.com/Pending' }],
        },
      ],
    },
    conditions: [
      {
        type: 'LoadBalancerReady',
        status: 'True',
        observedGeneration: 2,
        lastTransitionTime: T1,
        reason: 'Provisioned',
        message: 'ok',
      },
    ],
  },
};

export const INGRESS: Untyped = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: metadata('web', 'shop'),
  spec: {
    ingressClassName: 'nginx',
    defaultBackend: { resource: { apiGroup: 'example.com', kind: 'Bucket', name: 'static' } },
    tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
    rules: [
      {
        host: 'web.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            {
              path: '/api',
              pathType: 'Exact',
              backend: { service: { name: 'api', port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  },
  status: {
    loadBalancer: {
      ingress: [
        {
          ip: '192.0.2.40',
          hostname: 'ing.example.com',
          ports: [{ port: 443, protocol: 'TCP', error: 'example.com/Pending' }],
        },
      ],
    },
  },
};

export const CONFIG_MAP: Untyped = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: metadata('web-config', 'shop'),
  data: { 'app.conf': 'mode=blue\n', empty: '' },
  binaryData: { 'logo.bin': Buffer.from([0, 1, 254, 255]).toString('base64') },
  immutable: true,
};

export const SECRET: Untyped = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: metadata('web-secret', 'shop'),
  data: { password: Buffer.from('s3cret').toString('base64') },
  stringData: { token: 'abc' },
  type: 'Opaque',
  immutable: false,
};

export const NAMESPACE: Untyped = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: metadata('shop'),
  spec: { finalizers: ['kubernetes'] },
  status: {
    phase: 'Terminating',
    conditions: [
      {
        type: 'NamespaceContentRemaining',
        status: 'True',
        lastTransitionTime: T1,
        reason: 'SomeResourcesRemain',
        message: 'pods remain',
      },
    ],
  },
};

export const EVENT: Untyped = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: metadata('web.17a', 'shop'),
  involvedObject: {
    kind: 'Pod',
    namespace: 'shop',
    name: 'web-1',
    uid: '2f4b4c6e-0000-4000-8000-000000000003',
    apiVersion: 'v1',
    resourceVersion: '7',
    fieldPath: 'spec.containers{web}',
  },
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: { component: 'kubelet', host: 'node-1' },
  firstTimestamp: T1,
  lastTimestamp: T2,
  count: 3,
  type: 'Warning',
  eventTime: '2024-05-01T10:00:00.123456Z',
  series: { count: 2, lastObservedTime: '2024-05-01T10:04:59.654321Z' },
  action: 'Restarting',
  related: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
  reportingComponent: 'kubelet',
  reportingInstance: 'node-1',
};
