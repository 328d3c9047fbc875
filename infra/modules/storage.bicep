// Storage account for the Functions host (AzureWebJobsStorage) and the Flex Consumption deployment
// package. Shared-key access is disabled: the function app reaches it with its managed identity only.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the storage account.')
param location string

@description('Tags for the storage account.')
param tags object = {}

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Blob containers the Functions host keeps its state in (AzureWebJobsStorage).')
param hostContainerNames array = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the Flex Consumption app runs without a virtual network and reaches this account over its public endpoint; access is by Entra ID only (allowSharedKeyAccess false).
  // checkov:skip=CKV_AZURE_206: holds only a rebuildable deployment package and Functions host state; locally redundant storage is enough.
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: without a virtual network the platform fetches the package over the public endpoint; shared keys are off, so every call needs an Entra token.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The Functions host's own containers (its locks and keys), made here so that the app's identity
// needs rights on these containers only, not on the whole account (roles.bicep).
resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for name in hostContainerNames: {
    parent: blobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output hostContainerNames array = hostContainerNames
