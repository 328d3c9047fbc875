// Role assignments, least privilege, each scoped to the one resource it is for.
//   the app's identity: Storage Blob Data Contributor on the deployment container (the platform
//     reads the package with it), Storage Blob Data Owner on the Functions host's two containers
//     only (what the host documents for AzureWebJobsStorage by identity), never on the account;
//     Monitoring Metrics Publisher (Application Insights), Cognitive Services OpenAI User,
//     Search Index Data Reader, Storage Table Data Contributor on the limits' table only;
//   the deploying user (optional): Cognitive Services OpenAI User, Search Index Data Contributor and
//     Search Service Contributor, which is what `make ingest` and `make run` against Azure need;
//     Storage Table Data Reader on the limits' table only, which is what `make report` reads.

@description('Principal id of the app\'s managed identity.')
param appPrincipalId string

@description('Object id of the deploying user or service principal; empty to grant nothing.')
param userPrincipalId string = ''

@description('Kind of principal userPrincipalId is (the signed-in account: a group cannot sign in).')
@allowed([
  'User'
  'ServicePrincipal'
])
param userPrincipalType string = 'User'

param storageAccountName string
param deploymentContainerName string

@description('The Functions host\'s containers in the storage account (storage.bicep).')
param hostContainerNames array

@description('The table of the limits\' counters, in the storage account.')
param limitsTableName string
param applicationInsightsName string
param openAiName string

@description('Whether the search service exists.')
param searchEnabled bool

@description('Name of the search service; given even without search, so the conditional `existing` declaration below never has an empty name.')
@minLength(2)
param searchName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var cognitiveServicesOpenAIUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
var searchIndexDataReader = '1407120a-92aa-4202-b7e9-c0e197c71c8f'
var searchIndexDataContributor = '8ebe5a00-799e-43f5-93ac-243d3dce84a7'
var searchServiceContributor = '7ca78c08-252a-4471-8644-bb5ff32d4ba0'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageTableDataReader = '76199698-9eea-4c19-bc75-cec21354c6b6'

var grantUser = !empty(userPrincipalId)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deploymentContainerName
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for name in hostContainerNames: {
    parent: blobService
    name: name
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource limitsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = {
  parent: tableService
  name: limitsTableName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiName
}

resource search 'Microsoft.Search/searchServices@2025-05-01' existing = if (searchEnabled) {
  name: searchName
}

// --- the app's identity ----------------------------------------------------------------------

resource appDeploymentContainerContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentContainer.id, appPrincipalId, storageBlobDataContributor)
  scope: deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appHostContainerOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in hostContainerNames: {
    name: guid(hostContainers[i].id, appPrincipalId, storageBlobDataOwner)
    scope: hostContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Reads and writes the counters of the limits, in that one table and nowhere else.
resource appLimitsTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(limitsTable.id, appPrincipalId, storageTableDataContributor)
  scope: limitsTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appMonitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appOpenAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, appPrincipalId, cognitiveServicesOpenAIUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAIUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appSearchIndexDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (searchEnabled) {
  name: guid(search.id, appPrincipalId, searchIndexDataReader)
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', searchIndexDataReader)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- the deploying user ----------------------------------------------------------------------

resource userOpenAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(openAi.id, userPrincipalId, cognitiveServicesOpenAIUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAIUser)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userSearchIndexDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser && searchEnabled) {
  name: guid(search.id, userPrincipalId, searchIndexDataContributor)
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', searchIndexDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userSearchServiceContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser && searchEnabled) {
  name: guid(search.id, userPrincipalId, searchServiceContributor)
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', searchServiceContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// `make report` reads the answers, ratings and kept questions the app writes to the limits' table.
resource userLimitsTableDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(limitsTable.id, userPrincipalId, storageTableDataReader)
  scope: limitsTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataReader)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}
