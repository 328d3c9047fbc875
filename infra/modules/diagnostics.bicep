// Diagnostic settings: the platform logs and metrics of Azure OpenAI, Azure AI Search and the
// Function App go to the Log Analytics workspace, beside Application Insights, so failures on
// the services' side (throttling, refused requests, host errors) can be queried in one place.
// Neither the prompts nor the answers are in these logs.

@description('Resource id of the Log Analytics workspace.')
param logAnalyticsId string

param openAiName string
param functionAppName string

@description('Whether the search service exists.')
param searchEnabled bool

@description('Name of the search service; given even without search, so the conditional `existing` declaration below never has an empty name.')
@minLength(2)
param searchName string

var settingName = 'to-log-analytics'
var allMetrics = [
  {
    category: 'AllMetrics'
    enabled: true
  }
]

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiName
}

resource api 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

resource search 'Microsoft.Search/searchServices@2025-05-01' existing = if (searchEnabled) {
  name: searchName
}

resource openAiDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: openAi
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: allMetrics
  }
}

resource searchDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (searchEnabled) {
  name: settingName
  scope: search
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: allMetrics
  }
}

resource apiDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: api
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: allMetrics
  }
}
