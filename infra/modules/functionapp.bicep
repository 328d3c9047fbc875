// Flex Consumption plan (FC1) and the Python function app that serves the chat API.
// Scales to zero; billed for instance memory x time while executing. Keyless throughout: the app
// runs as a user-assigned managed identity for storage, Application Insights and its own services.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app.')
param name string

@description('Region of the plan and the app; it must offer Flex Consumption.')
param location string

@description('Tags; must include azd-service-name so azd deploys the API here.')
param tags object = {}

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Storage account for AzureWebJobsStorage and the deployment package.')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Application Insights component the app sends telemetry to.')
param applicationInsightsName string

// 3.13: requirements.txt resolves azure-functions 2.x and pins the Functions Python runtime
// (azure-functions-runtime) for it, the runtime the tests run the app in. 3.12 still works (it
// takes azure-functions 1.x from the same lock) but needs PYTHON_ENABLE_INIT_INDEXING. 3.14 is
// not offered until the tests run on it (docs/deploy.md).
@description('Python version of the Functions runtime.')
@allowed([
  '3.13'
  '3.12'
])
param pythonVersion string = '3.13'

@description('Most instances the app scales out to (the platform accepts 1 to 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Concurrent HTTP requests (open streams) one instance takes before the platform adds another.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 200

@description('Origins the browser may call the API from (CORS), scheme included.')
param allowedOrigins array

@description('The application\'s own settings (contract section 3), as name/value pairs.')
param appSettings array

@description('The id of the Azure Front Door profile in front of the app; empty: none. Set, only that Front Door reaches the app.')
param frontDoorId string = ''

// Behind Front Door: only traffic from Front Door's back end, carrying this profile's id (other
// customers' Front Doors share the service tag). The app checks the same header (403 otherwise).
var frontDoorOnly = [
  {
    name: 'front-door-only'
    action: 'Allow'
    priority: 100
    tag: 'ServiceTag'
    ipAddress: 'AzureFrontDoor.Backend'
    headers: {
      'x-azure-fdid': [
        frontDoorId
      ]
    }
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Settings the platform needs. No key or connection string with a secret: storage and telemetry are
// reached with the managed identity. Flex Consumption takes the runtime from functionAppConfig, so
// FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE are not set.
var platformSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  // With host.json's "telemetryMode": "OpenTelemetry", the worker takes the host's trace context
  // into each invocation and sends its own logs and spans, so the host does not repeat them. The
  // app sets up the Azure Monitor distro itself (with the identity above), so the worker's own
  // set-up, PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY, stays unset: it would export twice.
  {
    name: 'PYTHON_ENABLE_OPENTELEMETRY'
    value: 'true'
  }
]

// Python 3.12 and earlier index a v2-model app that uses the HTTP streaming extension only with this
// setting; 3.13 and later need none.
var indexingSettings = (pythonVersion == '3.12') ? [
  {
    name: 'PYTHON_ENABLE_INIT_INDEXING'
    value: '1'
  }
] : []

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is not offered in every Flex Consumption region; the API is stateless and redeploys in minutes.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource api 'Microsoft.Web/sites@2024-11-01' = {
  // checkov:skip=CKV_AZURE_16: a public chat API behind a public page has no sign-in; docs/deploy.md shows how to add Entra ID (EasyAuth).
  // checkov:skip=CKV_AZURE_17: browsers call the API; client certificates would lock them out.
  // checkov:skip=CKV_AZURE_222: the page calls the API from the internet; public access is the point.
  // checkov:skip=CKV_AZURE_212: scale to zero by design; a minimum instance count would bill while idle.
  // checkov:skip=CKV_AZURE_213: scale to zero by design; health-check pings would keep an instance running.
  // checkov:skip=CKV_AZURE_62: no regional allow-list for a public API.
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
      ipSecurityRestrictions: empty(frontDoorId) ? [] : frontDoorOnly
      ipSecurityRestrictionsDefaultAction: empty(frontDoorId) ? 'Allow' : 'Deny'
      appSettings: concat(platformSettings, indexingSettings, appSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// No publishing with user names and passwords: azd deploys with an Entra token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: api
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: api
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = api.name
output id string = api.id
output defaultHostname string = api.properties.defaultHostName
output url string = 'https://${api.properties.defaultHostName}'
